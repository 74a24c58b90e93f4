// The e2e bench's producer: Kafka's own Java client, at a fixed rate, each record keyed
// "<topic>-<n>@<epoch ms of send()>", so the sink's _id carries its produce time and the
// bench reads latency off the emulator's request log without a map or a clock of its own.
// A Java producer, not kafkajs in the bench process: kafkajs spent 30-40 us of CPU per
// 1 KiB record here, two thirds of a core at 20,000 records/s on a 2-core machine whose
// other core the sink, the broker and the emulator share. Run as a source file
// (java -cp <kafka libs> bench/E2eProducer.java ...).
//
// Arguments: <bootstrap> <topic> <records/s> <seconds> <payload file, one value a line> <partitions>
//            [<warm-up topic> <warm-up seconds>]
// Prints one JSON line when every record is acknowledged (or failed).
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class E2eProducer {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    long rate = Long.parseLong(args[2]);
    double seconds = Double.parseDouble(args[3]);
    List<byte[]> values = new ArrayList<>();
    for (String line : Files.readAllLines(Paths.get(args[4]), StandardCharsets.UTF_8)) values.add(line.getBytes(StandardCharsets.UTF_8));
    int partitions = Integer.parseInt(args[5]);
    String warmupTopic = args.length > 6 ? args[6] : "";
    double warmupSeconds = args.length > 7 ? Double.parseDouble(args[7]) : 0;

    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    props.put("acks", "all");
    props.put("linger.ms", "5");
    props.put("compression.type", "none");
    AtomicLong errors = new AtomicLong();
    long total = Math.round(rate * seconds);
    long sent = 0;
    long lateTicks = 0;
    long t0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      // The JVM compiles the send path during its first seconds of sending: that is the
      // producer's start, not the sink's latency, so it happens on a topic of its own first.
      if (warmupSeconds > 0) {
        producer.partitionsFor(warmupTopic);
        long w0 = System.nanoTime();
        long w = 0;
        // At most 5,000/s: it warms code, and a backlog left from it would count against the run.
        long warmupRate = Math.min(rate, 5000);
        while (System.nanoTime() - w0 < warmupSeconds * 1e9) {
          long due = (long) ((System.nanoTime() - w0) / 1e9 * warmupRate);
          for (; w < due; w++) producer.send(new ProducerRecord<>(warmupTopic, (int) (w % partitions), null, values.get((int) (w % values.size()))));
          Thread.sleep(1);
        }
        producer.flush();
        Thread.sleep(1000); // the sink finishes the warm-up's last fetch
      }
      producer.partitionsFor(topic); // metadata before the clock starts
      t0 = System.nanoTime();
      while (sent < total) {
        long due = Math.min(total, (long) ((System.nanoTime() - t0) / 1e9 * rate));
        if (due - sent > rate / 10) lateTicks += 1; // more than 100 ms behind
        long now = System.currentTimeMillis();
        for (; sent < due; sent++) {
          byte[] key = (topic + "-" + sent + "@" + now).getBytes(StandardCharsets.UTF_8);
          producer.send(new ProducerRecord<>(topic, (int) (sent % partitions), key, values.get((int) (sent % values.size()))), (metadata, err) -> {
            if (err != null) errors.incrementAndGet();
          });
        }
        Thread.sleep(1);
      }
      producer.flush();
    }
    double took = (System.nanoTime() - t0) / 1e9;
    // CPU of this JVM over its life (its start and the source compile included).
    double cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    System.out.println("{\"sent\":" + sent + ",\"errors\":" + errors.get() + ",\"lateTicks\":" + lateTicks + ",\"seconds\":" + took + ",\"cpuSeconds\":" + cpu + "}");
  }
}
