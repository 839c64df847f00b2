import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.io.ObjectInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;

/**
 * A Flink-like JobManager for integration tests: it contends for leadership with Curator's
 * LeaderLatch and publishes leader information exactly as Flink does in the chosen layout, and
 * serves the REST endpoints a sidecar checks. Driven over stdin, one command per line; reports
 * events on stdout, one per line (see test/support/fake-jobmanager.ts for the protocol).
 */
public final class FakeJobManager implements FakeRestApi.LeaderView {

    private final FakeJobManagerOptions options;
    private FakeRestApi restApi;
    private CuratorFramework client;
    private FlinkLeaderElection election;
    // Read by REST handler threads; volatile publishes it (and the election set before it) to them.
    private volatile CuratorCache leaderRetrieval;
    private volatile boolean connected;
    private volatile long lastSessionId;

    private FakeJobManager(FakeJobManagerOptions options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        // Without it, a response written as headers + body waits ~40 ms on Nagle and delayed ACKs.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        EventLog.claimStdout();
        FakeJobManagerOptions options;
        try {
            options = FakeJobManagerOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("FakeJobManager: " + e.getMessage());
            System.exit(2);
            return;
        }
        FakeJobManager jobManager = new FakeJobManager(options);
        jobManager.start();
        jobManager.runCommands();
        // stdin closed: the harness is gone, so nobody will send "exit".
        jobManager.shutdown();
        System.exit(0);
    }

    private void start() throws Exception {
        restApi = new FakeRestApi(options.restPort, this);
        String restAddress =
                options.restAddress != null ? options.restAddress : "http://127.0.0.1:" + restApi.port();
        restApi.setPublishedAddress(restAddress);
        EventLog.emit("rest-port " + restApi.port());

        client = connect();
        client.blockUntilConnected();
        FlinkLeaderElection.prepareNamespace(client, options);

        election = new FlinkLeaderElection(client, options, restAddress);
        // Flink's leader retrieval watches the same node the election writes (ZooKeeperLeaderRetrievalDriver).
        leaderRetrieval =
                CuratorCache.build(client, election.restServerInfoPath(), CuratorCache.Options.SINGLE_NODE_CACHE);
        leaderRetrieval.start();
        election.join();
    }

    /** A Curator client set up like Flink's ZooKeeperUtils.startCuratorFramework, with test timeouts. */
    private CuratorFramework connect() {
        String namespace = FlinkLeaderElection.zkPath(options.root, options.clusterId).substring(1);
        CuratorFramework curator =
                CuratorFrameworkFactory.builder()
                        .connectString(options.zookeeper)
                        .sessionTimeoutMs(options.sessionTimeoutMs)
                        .connectionTimeoutMs(2000)
                        .retryPolicy(new ExponentialBackoffRetry(500, 5))
                        // Curator rejects a leading slash and treats null as "no namespace".
                        .namespace(namespace.isEmpty() ? null : namespace)
                        .build();
        // The listener gets the client passed in: CONNECTED can arrive before start() returns.
        curator.getConnectionStateListenable().addListener(this::onConnectionStateChanged);
        curator.start();
        return curator;
    }

    private void onConnectionStateChanged(CuratorFramework curator, ConnectionState state) {
        connected = state.isConnected();
        if (state == ConnectionState.CONNECTED || state == ConnectionState.RECONNECTED) {
            reportSessionIfNew(curator);
        }
        EventLog.emit("connection " + state.name());
    }

    /** A reconnect within the session keeps its id; only a new session is reported. */
    private void reportSessionIfNew(CuratorFramework curator) {
        try {
            long sessionId = curator.getZookeeperClient().getZooKeeper().getSessionId();
            if (sessionId != 0 && sessionId != lastSessionId) {
                lastSessionId = sessionId;
                EventLog.emit("session " + EventLog.sessionHex(sessionId));
            }
        } catch (Exception e) {
            System.err.println("could not read the ZooKeeper session id: " + e);
        }
    }

    @Override
    public boolean isLeaderKnown() {
        byte[] data = leaderInformation();
        return connected && data != null && data.length > 0;
    }

    @Override
    public String leaderAddress() {
        byte[] data = leaderInformation();
        if (data == null || data.length == 0) {
            return null;
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(data))) {
            return in.readUTF();
        } catch (Exception undecodable) {
            return null;
        }
    }

    private byte[] leaderInformation() {
        if (leaderRetrieval == null) {
            return null;
        }
        Optional<ChildData> node = leaderRetrieval.get(election.restServerInfoPath());
        return node.map(ChildData::getData).orElse(null);
    }

    private void runCommands() throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String command = line.trim();
            if (command.isEmpty()) {
                continue;
            }
            try {
                execute(command);
                EventLog.emit("ok " + command);
            } catch (Exception e) {
                String message = e.getMessage() != null ? e.getMessage() : e.toString();
                EventLog.emit("error " + message.replaceAll("\\s*\\R\\s*", " "));
            }
            if (command.equals("exit")) {
                System.exit(0);
            }
        }
    }

    private void execute(String command) throws Exception {
        String[] words = command.split("\\s+", 3);
        switch (words[0]) {
            case "resign":
                election.resign();
                break;
            case "join":
                election.join();
                break;
            case "write-info":
                byte[] data = HexFormat.of().parseHex(words.length > 1 ? words[1] : "");
                FlinkLeaderElection.writeLeaderInformation(client, election.restServerInfoPath(), data, () -> true);
                break;
            case "delete-info":
                try {
                    client.delete().forPath(election.restServerInfoPath());
                } catch (KeeperException.NoNodeException alreadyGone) {
                    // the desired state
                }
                break;
            case "rest":
                if (words.length < 2) {
                    throw new IllegalArgumentException("usage: rest <mode> [arg]");
                }
                restApi.setMode(words[1], words.length > 2 ? words[2] : null);
                break;
            case "exit":
                shutdown();
                break;
            default:
                throw new IllegalArgumentException("unknown command: " + command);
        }
    }

    /** Leaves as a stopping JobManager does: gives up leadership, then closes the session. */
    private void shutdown() {
        try {
            if (election != null && election.isContending()) {
                election.resign();
            }
        } catch (Exception e) {
            System.err.println("resign on shutdown failed: " + e);
        }
        if (leaderRetrieval != null) {
            leaderRetrieval.close();
        }
        if (client != null) {
            // Closing the session deletes our ephemeral nodes now rather than after the timeout.
            client.close();
        }
        restApi.stop();
    }
}
