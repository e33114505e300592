// Readiness probe and tiny admin helper for the Kafka started by scripts/services.
// Compiled by scripts/services against the Kafka classpath (kafka-clients is on it).
//
//   KafkaProbe wait BOOTSTRAP TIMEOUT_S [PID]   retry a metadata request until it answers
//   KafkaProbe topics BOOTSTRAP                 list topics
//   KafkaProbe selftest BOOTSTRAP               create a topic, produce, consume, delete it
//   KafkaProbe delete-topics BOOTSTRAP PREFIX   delete every topic whose name starts with PREFIX
//
// Exit codes: 0 ok, 1 gave up / failed, 3 the watched process died.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaProbe {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: KafkaProbe wait|topics|selftest|delete-topics BOOTSTRAP [TIMEOUT_S [PID] | PREFIX]");
            System.exit(2);
        }
        String bootstrap = args[1];
        switch (args[0]) {
            case "wait" -> System.exit(waitReady(bootstrap,
                    args.length > 2 ? Long.parseLong(args[2]) : 180,
                    args.length > 3 ? Long.parseLong(args[3]) : -1));
            case "topics" -> topics(bootstrap);
            case "selftest" -> selftest(bootstrap);
            case "delete-topics" -> deleteTopics(bootstrap, args.length > 2 ? args[2] : "");
            default -> {
                System.err.println("KafkaProbe: unknown mode " + args[0]);
                System.exit(2);
            }
        }
    }

    static Properties adminProps(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        // short timeouts: a probe must fail fast and retry, not hang
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        return p;
    }

    static int waitReady(String bootstrap, long timeoutS, long pid) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
        String last = "no answer yet";
        try (Admin admin = Admin.create(adminProps(bootstrap))) {
            while (System.nanoTime() < deadline) {
                if (pid > 0 && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    System.err.println("process " + pid + " exited");
                    return 3;
                }
                try {
                    var cluster = admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000));
                    Collection<Node> nodes = cluster.nodes().get(4, TimeUnit.SECONDS);
                    String id = cluster.clusterId().get(4, TimeUnit.SECONDS);
                    // a broker that answers metadata but has no controller yet cannot create topics
                    Node controller = cluster.controller().get(4, TimeUnit.SECONDS);
                    admin.listTopics(new ListTopicsOptions().timeoutMs(3000)).names().get(4, TimeUnit.SECONDS);
                    if (!nodes.isEmpty() && controller != null && !controller.isEmpty()) {
                        System.out.println("cluster " + id + ", " + nodes.size() + " broker(s)");
                        return 0;
                    }
                    last = "no brokers/controller in metadata yet";
                } catch (Exception e) {
                    last = e.getCause() != null ? e.getCause().toString() : e.toString();
                }
                Thread.sleep(250);
            }
        }
        System.err.println("no metadata answer from " + bootstrap + " within " + timeoutS + " s (" + last + ")");
        return 1;
    }

    static void topics(String bootstrap) throws Exception {
        try (Admin admin = Admin.create(adminProps(bootstrap))) {
            Set<String> names = new TreeSet<>(admin.listTopics().names().get(10, TimeUnit.SECONDS));
            names.forEach(System.out::println);
        }
    }

    static void deleteTopics(String bootstrap, String prefix) throws Exception {
        // An empty prefix would delete everything, benches' and tests' topics alike.
        if (prefix.isEmpty()) {
            System.err.println("KafkaProbe delete-topics: give the prefix of the topics to delete");
            System.exit(2);
        }
        try (Admin admin = Admin.create(adminProps(bootstrap))) {
            List<String> doomed = admin.listTopics().names().get(10, TimeUnit.SECONDS).stream()
                    .filter(name -> name.startsWith(prefix)).sorted().toList();
            if (!doomed.isEmpty()) {
                admin.deleteTopics(doomed).all().get(30, TimeUnit.SECONDS);
            }
            doomed.forEach(name -> System.out.println("deleted topic " + name));
        }
    }

    static void selftest(String bootstrap) throws Exception {
        String topic = "services-selftest-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(adminProps(bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(15, TimeUnit.SECONDS);
            System.out.println("created topic " + topic + " (2 partitions)");

            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
                for (int i = 0; i < 3; i++) {
                    var md = producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get(15, TimeUnit.SECONDS);
                    System.out.println("produced k" + i + "=v" + i + " -> partition " + md.partition() + " offset " + md.offset());
                }
            }

            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, topic + "-group");
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            List<String> got = new ArrayList<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
                // subscribe (not assign) so the group coordinator and __consumer_offsets are exercised too
                consumer.subscribe(List.of(topic));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (got.size() < 3 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        got.add(r.key() + "=" + r.value());
                    }
                }
                consumer.commitSync();
                for (TopicPartition tp : consumer.assignment()) {
                    System.out.println("committed " + tp + " at " + consumer.committed(Set.of(tp)).get(tp));
                }
            }
            System.out.println("consumed " + new TreeSet<>(got));
            admin.deleteTopics(List.of(topic)).all().get(15, TimeUnit.SECONDS);
            System.out.println("deleted topic " + topic);
            if (got.size() != 3) {
                System.err.println("selftest FAILED: expected 3 records, got " + got.size());
                System.exit(1);
            }
            System.out.println("selftest ok");
        }
    }
}
