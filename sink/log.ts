// pino with redaction: secrets are never put into log objects in the first place,
// and these paths catch anything that slips through (a kafkajs or undici object
// carrying an Authorization header or SASL settings).
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';

export const REDACT_PATHS = [
  'apiKey', '*.apiKey', 'password', '*.password', '*.*.password', 'authorization', '*.authorization', '*.*.authorization',
  'headers.authorization', 'sasl', '*.sasl', 'secrets', '*.secrets',
];

export function createLogger(level: LevelWithSilent, destination?: NodeJS.WritableStream, component = 'rockset-sink'): Logger {
  const opts = { level, base: { component }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}

/** Routes kafkajs's own logging into pino, at the matching levels. */
export function kafkaLogCreator(log: Logger): logCreator {
  const child = log.child({ component: 'kafkajs' });
  return () => ({ level, log: entry }) => {
    const { message, ...rest } = entry as { message: string } & Record<string, unknown>;
    delete rest.timestamp;
    delete rest.logger;
    // kafkajs retries most of what it logs as an error (a coordinator still
    // loading, a broker restart); what does end the sink is logged by the sink.
    if (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN) child.warn(rest, message);
    else if (level === KafkaLogLevel.INFO) child.debug(rest, message); // kafkajs is chatty at info
    else child.trace(rest, message);
  };
}
