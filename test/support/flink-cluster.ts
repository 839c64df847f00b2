/**
 * Real Flink JobManagers of one cluster, each with a sidecar process beside it reading the
 * JobManager's own conf dir (FLINK_CONF_DIR), as in JobManager pods. Who leads is read from Flink:
 * its logs and the leader information it writes to ZooKeeper. For the real-Flink tests and benches.
 */
import assert from 'node:assert/strict';
import type zookeeper from 'node-zookeeper-client';
import { decodeLeaderInformation } from '../../src/sources/zookeeper/leader-info.js';
import {
  startFlinkJobManager,
  waitForLeader,
  whoLeads,
  writeFlinkConfDir,
  type FlinkConfDir,
  type FlinkJobManager,
} from './flink-jobmanager.js';
import { SidecarProcess, type SidecarProcessOptions } from './sidecar-process.js';
import { waitForZnode } from './znodes.js';

const LEADER_TIMEOUT_MS = 120_000;
const WRITE_TIMEOUT_MS = 30_000;

export interface ClusterMember {
  conf: FlinkConfDir;
  jm: FlinkJobManager;
  sidecar: SidecarProcess;
}

export interface SettledLeader {
  leader: ClusterMember;
  standby: ClusterMember;
  /** When ZooKeeper stored the leader's rest_server information (the server's clock, epoch ms). */
  writtenAtMs: number;
}

export interface FlinkClusterOptions {
  version: string;
  zookeeper: string;
  clusterId: string;
  /** Flink's ZooKeeper session timeout. */
  sessionTimeoutMs: number;
  /** Settings of the sidecars (check interval and timeout, ...). */
  sidecar?: Omit<SidecarProcessOptions, 'confDir'>;
}

export class FlinkSidecarCluster {
  private constructor(
    readonly options: FlinkClusterOptions,
    /** Replaced by the test when the one it had lost its session (a ZooKeeper restart can expire it). */
    public client: zookeeper.Client,
    readonly members: ClusterMember[],
  ) {}

  /** Two JobManagers (own conf dirs and ports, one cluster-id and HA storage) and their sidecars. */
  static async start(options: FlinkClusterOptions, client: zookeeper.Client): Promise<FlinkSidecarCluster> {
    const { version, zookeeper: quorum, clusterId, sessionTimeoutMs } = options;
    const first = await writeFlinkConfDir({ version, zookeeperQuorum: quorum, clusterId, sessionTimeoutMs });
    const second = await writeFlinkConfDir({ version, zookeeperQuorum: quorum, clusterId, sessionTimeoutMs, storageDir: first.storageDir });
    const jms = await Promise.all([first, second].map((conf) => startFlinkJobManager({ version, confDir: conf })));
    const members: ClusterMember[] = [];
    for (const [i, conf] of [first, second].entries()) {
      members.push({ conf, jm: jms[i]!, sidecar: await SidecarProcess.start({ ...options.sidecar, confDir: conf.dir }) });
    }
    return new FlinkSidecarCluster(options, client, members);
  }

  get connectionInfoPath(): string {
    return `/flink/${this.options.clusterId}/leader/rest_server/connection_info`;
  }

  /**
   * Flink's leader by the JobManagers' own logs (one running JobManager granted and not lost
   * since), once its rest_server information is written and its sidecar is ready.
   */
  async settledLeader(): Promise<SettledLeader> {
    const running = this.members.map((m) => m.jm).filter((jm) => jm.isRunning());
    let leaders = await whoLeads(running);
    while (leaders.length !== 1) {
      const since = new Map(await Promise.all(running.map(async (jm) => [jm, (await jm.logLines()).length] as const)));
      await waitForLeader(running, LEADER_TIMEOUT_MS, since);
      leaders = await whoLeads(running);
    }
    const jm = leaders[0]!;
    const { sessionId } = await jm.leadership();
    const written = await waitForZnode(
      this.client,
      this.connectionInfoPath,
      (s) => s.data !== undefined && decodeLeaderInformation(s.data)?.sessionId === sessionId,
      WRITE_TIMEOUT_MS,
    );
    const leader = this.members.find((m) => m.jm === jm)!;
    const standby = this.members.find((m) => m !== leader)!;
    assert.deepEqual(decodeLeaderInformation(written.data), { address: leader.conf.restUrl, sessionId });
    await leader.sidecar.waitUntilReady(WRITE_TIMEOUT_MS);
    return { leader, standby, writtenAtMs: written.mtimeMs! };
  }

  /** A JobManager started again on its conf dir (same ports), as the kubelet restarts a container. */
  async restart(member: ClusterMember): Promise<void> {
    await member.jm.kill('SIGKILL');
    member.jm = await startFlinkJobManager({ version: this.options.version, confDir: member.conf });
  }

  /** Sidecars, then JobManagers, then their directories. */
  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        await m.sidecar.stop();
        await m.jm.kill('SIGKILL');
      }),
    );
    await Promise.all(this.members.map((m) => m.conf.remove()));
  }
}
