console.log('npm start: the sink end to end (Kafka -> sink -> Rockset emulator) lands with the sink issue.');
console.log('Today: `npm run emulator -- --port 3010 --api-key dev-key --collection commons.events` runs the emulator.');
