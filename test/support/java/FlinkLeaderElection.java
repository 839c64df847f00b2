import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * Leader election as Flink's ZooKeeper HA services do it, per layout (docs/design.md, "What Flink writes to ZooKeeper"):
 * Curator LeaderLatches with Flink's paths, and on each grant a random leader session UUID published
 * with ZooKeeperUtils.writeLeaderInformationToZooKeeper's procedure. Paths are relative to the
 * client's namespace (root + cluster id), as in Flink.
 */
final class FlinkLeaderElection {

    static final String REST_SERVER = "rest_server";
    static final String DISPATCHER = "dispatcher";
    static final String RESOURCE_MANAGER = "resource_manager";

    /** A component whose address a latch's leader publishes. */
    static final class Component {
        final String name;
        final String infoPath;
        final String address;

        Component(String name, String infoPath, String address) {
            this.name = name;
            this.infoPath = infoPath;
            this.address = address;
        }
    }

    /** A latch path and the components its leader publishes: all three from 1.15, one each before. */
    static final class LatchGroup {
        final String latchPath;
        final List<Component> components;

        LatchGroup(String latchPath, List<Component> components) {
            this.latchPath = latchPath;
            this.components = components;
        }
    }

    private final CuratorFramework client;
    private final List<LatchGroup> groups;
    private final boolean revokeWritesEmpty;
    private final String restServerInfoPath;
    /**
     * Grants and revocations run here, one at a time, off Curator's event thread, as in Flink
     * (leadershipOperationExecutor): writing to ZooKeeper from a Curator callback would stall it.
     */
    private final ExecutorService leadershipOperations =
            Executors.newSingleThreadExecutor(
                    runnable -> {
                        Thread thread = new Thread(runnable, "leadership-operations");
                        thread.setDaemon(true);
                        return thread;
                    });

    private List<Contender> contenders = List.of();

    FlinkLeaderElection(
            CuratorFramework client, FakeJobManagerOptions options, String restAddress) {
        this.client = client;
        this.revokeWritesEmpty = options.revokeWritesEmpty;
        this.groups = groupsFor(options, restAddress);
        this.restServerInfoPath = infoPath(options, REST_SERVER);
    }

    /** Where this layout publishes the rest_server address, relative to the namespace. */
    String restServerInfoPath() {
        return restServerInfoPath;
    }

    /**
     * Flink 1.15+ ensures <ns>/leader exists as a persistent node before electing
     * (ZooKeeperUtils.useNamespaceAndEnsurePath); older layouts let LeaderLatch create its parents
     * as container nodes.
     */
    static void prepareNamespace(CuratorFramework client, FakeJobManagerOptions options) throws Exception {
        if (options.layout != FakeJobManagerOptions.Layout.V1_15) {
            return;
        }
        try {
            // Explicit empty data: Curator's default data is this host's IP address.
            client.create().creatingParentsIfNeeded().forPath("/leader", new byte[0]);
        } catch (KeeperException.NodeExistsException alreadyThere) {
            // another JobManager of the cluster created it
        }
    }

    /** Starts contending with fresh latches (a closed LeaderLatch cannot be restarted). */
    synchronized void join() throws Exception {
        if (!contenders.isEmpty()) {
            throw new IllegalStateException("already contending");
        }
        List<Contender> started = new ArrayList<>();
        for (LatchGroup group : groups) {
            Contender contender = new Contender(group);
            contender.latch.start();
            started.add(contender);
        }
        contenders = started;
    }

    /**
     * Stops contending: closes every latch with NOTIFY_LEADER so notLeader runs, and returns once
     * the resulting revocations have been handled. With --revoke-writes-empty, first clears the
     * published information while still holding the latch, as Flink 1.15 to 1.17 did when a
     * leading component stopped.
     */
    synchronized void resign() throws Exception {
        if (contenders.isEmpty()) {
            throw new IllegalStateException("not contending");
        }
        if (revokeWritesEmpty) {
            runLeadershipOperation(
                    () -> {
                        for (Contender contender : contenders) {
                            contender.clearLeaderInformation();
                        }
                    });
        }
        List<Contender> closing = contenders;
        contenders = List.of();
        IOException failure = null;
        for (Contender contender : closing) {
            try {
                contender.latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
            } catch (IOException e) {
                failure = e;
            }
        }
        runLeadershipOperation(() -> {});
        if (failure != null) {
            throw failure;
        }
    }

    synchronized boolean isContending() {
        return !contenders.isEmpty();
    }

    /** Waits for a task on the leadership thread, so its effects precede the command's reply. */
    private void runLeadershipOperation(ThrowingRunnable task) throws Exception {
        try {
            leadershipOperations
                    .submit(
                            () -> {
                                task.run();
                                return null;
                            })
                    .get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** One LeaderLatch and what its leader publishes. */
    private final class Contender implements LeaderLatchListener {
        final LatchGroup group;
        final LeaderLatch latch;

        Contender(LatchGroup group) {
            this.group = group;
            // No id: Flink passes none, so latch nodes hold empty data and name no JobManager.
            this.latch = new LeaderLatch(client, group.latchPath);
            this.latch.addListener(this);
        }

        @Override
        public void isLeader() {
            // One session id per grant, shared by the components of this latch (Flink 1.15+:
            // the latch's leader session; before: one per component, each with its own latch).
            UUID leaderSessionId = UUID.randomUUID();
            leadershipOperations.execute(() -> grant(leaderSessionId));
        }

        @Override
        public void notLeader() {
            leadershipOperations.execute(this::revoke);
        }

        private void grant(UUID leaderSessionId) {
            for (Component component : group.components) {
                try {
                    byte[] data = serializeLeaderInformation(component.address, leaderSessionId);
                    if (writeLeaderInformation(client, component.infoPath, data, latch::hasLeadership)) {
                        EventLog.emit("leader " + component.name + " " + leaderSessionId);
                    }
                } catch (Exception e) {
                    // Flink treats this as fatal and stops the JobManager; a test wants to see why.
                    System.err.println("could not publish leader information for " + component.name + ": " + e);
                }
            }
        }

        private void revoke() {
            for (Component component : group.components) {
                EventLog.emit("not-leader " + component.name);
            }
            if (revokeWritesEmpty) {
                // Flink 1.15-1.17 asked to clear here too, but behind a hasLeadership() check that
                // only passes when leadership came back before this ran.
                clearLeaderInformation();
            }
        }

        void clearLeaderInformation() {
            for (Component component : group.components) {
                try {
                    writeLeaderInformation(client, component.infoPath, null, latch::hasLeadership);
                } catch (Exception e) {
                    System.err.println("could not clear leader information for " + component.name + ": " + e);
                }
            }
        }
    }

    /**
     * Flink's ZooKeeperUtils.writeLeaderInformationToZooKeeper: while the guard holds, set the data
     * of a node this session owns, delete a node another session owns, or create the node as
     * EPHEMERAL (parents persistent). Null data is Flink's "empty leader information".
     *
     * @return whether the data was written (false: the guard failed first)
     */
    static boolean writeLeaderInformation(
            CuratorFramework client, String path, byte[] data, BooleanSupplier guard) throws Exception {
        while (guard.getAsBoolean()) {
            Stat stat = client.checkExists().forPath(path);
            if (stat != null) {
                long ownSession = client.getZookeeperClient().getZooKeeper().getSessionId();
                if (stat.getEphemeralOwner() == ownSession) {
                    try {
                        client.setData().forPath(path, data);
                        return true;
                    } catch (KeeperException.NoNodeException deletedMeanwhile) {
                        // try again
                    }
                } else {
                    try {
                        client.delete().forPath(path);
                    } catch (KeeperException.NoNodeException deletedMeanwhile) {
                        // try again
                    }
                }
            } else {
                try {
                    client.create()
                            .creatingParentsIfNeeded()
                            .withMode(CreateMode.EPHEMERAL)
                            .forPath(path, data);
                    return true;
                } catch (KeeperException.NodeExistsException createdMeanwhile) {
                    // try again
                }
            }
        }
        return false;
    }

    /** LeaderInformation as Flink stores it: writeUTF(address), writeObject(UUID). */
    static byte[] serializeLeaderInformation(String address, UUID leaderSessionId) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeUTF(address);
            out.writeObject(leaderSessionId);
        }
        return bytes.toByteArray();
    }

    private static List<LatchGroup> groupsFor(FakeJobManagerOptions options, String restAddress) {
        String rpcScheme = options.layout == FakeJobManagerOptions.Layout.V1_15 ? "pekko.tcp" : "akka.tcp";
        String rpcPrefix = rpcScheme + "://flink@127.0.0.1:6123/user/rpc/";
        List<Component> components =
                List.of(
                        new Component(
                                RESOURCE_MANAGER,
                                infoPath(options, RESOURCE_MANAGER),
                                rpcPrefix + "resourcemanager_1"),
                        new Component(DISPATCHER, infoPath(options, DISPATCHER), rpcPrefix + "dispatcher_1"),
                        new Component(REST_SERVER, infoPath(options, REST_SERVER), restAddress));
        switch (options.layout) {
            case V1_15:
                return List.of(new LatchGroup("/leader/latch", components));
            case V1_14:
                return components.stream()
                        .map(c -> new LatchGroup(zkPath("leader", c.name, "latch"), List.of(c)))
                        .collect(Collectors.toList());
            case V1_13:
            default:
                return components.stream()
                        .map(c -> new LatchGroup(zkPath(options.latchPath, c.name + "_lock"), List.of(c)))
                        .collect(Collectors.toList());
        }
    }

    private static String infoPath(FakeJobManagerOptions options, String component) {
        if (options.layout == FakeJobManagerOptions.Layout.V1_13) {
            return zkPath(options.leaderPath, component + "_lock");
        }
        return zkPath("leader", component, "connection_info");
    }

    /** Flink's ZooKeeperUtils.generateZookeeperPath: "/a/b/c", each part's slashes trimmed. */
    static String zkPath(String... parts) {
        StringBuilder path = new StringBuilder();
        for (String part : parts) {
            String trimmed = part.replaceAll("^/+", "").replaceAll("/+$", "");
            if (!trimmed.isEmpty()) {
                path.append('/').append(trimmed);
            }
        }
        return path.length() == 0 ? "/" : path.toString();
    }
}
