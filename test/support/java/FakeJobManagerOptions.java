import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/** FakeJobManager's command line. Unknown or incomplete flags fail at start, naming the flag. */
final class FakeJobManagerOptions {

    String zookeeper;
    String root = "/flink";
    String clusterId = "/default";
    Layout layout = Layout.V1_15;
    int restPort = 0;
    /** The rest_server address to publish; null means http://127.0.0.1:<bound port>. */
    String restAddress;
    int sessionTimeoutMs = 4000;
    String latchPath = "/leaderlatch";
    String leaderPath = "/leader";
    boolean revokeWritesEmpty = false;

    /** ZooKeeper znode layouts, named by the Flink line that introduced them (see docs/design.md, "What Flink writes to ZooKeeper"). */
    enum Layout {
        V1_15("1.15"),
        V1_14("1.14"),
        V1_13("1.13");

        final String label;

        Layout(String label) {
            this.label = label;
        }

        static Layout parse(String value) {
            for (Layout layout : values()) {
                if (layout.label.equals(value)) {
                    return layout;
                }
            }
            throw new IllegalArgumentException("--layout must be 1.15, 1.14 or 1.13, got " + value);
        }
    }

    static FakeJobManagerOptions parse(String[] args) {
        FakeJobManagerOptions options = new FakeJobManagerOptions();
        Deque<String> rest = new ArrayDeque<>(Arrays.asList(args));
        while (!rest.isEmpty()) {
            String flag = rest.removeFirst();
            switch (flag) {
                case "--zookeeper":
                    options.zookeeper = value(flag, rest);
                    break;
                case "--root":
                    options.root = value(flag, rest);
                    break;
                case "--cluster-id":
                    options.clusterId = value(flag, rest);
                    break;
                case "--layout":
                    options.layout = Layout.parse(value(flag, rest));
                    break;
                case "--rest-port":
                    options.restPort = Integer.parseInt(value(flag, rest));
                    break;
                case "--rest-address":
                    options.restAddress = value(flag, rest);
                    break;
                case "--session-timeout-ms":
                    options.sessionTimeoutMs = Integer.parseInt(value(flag, rest));
                    break;
                case "--latch-path":
                    options.latchPath = value(flag, rest);
                    break;
                case "--leader-path":
                    options.leaderPath = value(flag, rest);
                    break;
                case "--revoke-writes-empty":
                    options.revokeWritesEmpty = true;
                    break;
                default:
                    throw new IllegalArgumentException("unknown flag " + flag);
            }
        }
        if (options.zookeeper == null || options.zookeeper.isEmpty()) {
            throw new IllegalArgumentException("--zookeeper <connect string> is required");
        }
        return options;
    }

    private static String value(String flag, Deque<String> rest) {
        if (rest.isEmpty()) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return rest.removeFirst();
    }
}
