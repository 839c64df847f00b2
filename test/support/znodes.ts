/**
 * node-zookeeper-client, promisified for tests that watch what Flink writes: connect, read, and
 * wait (on ZooKeeper watches, not by polling) for a node to reach a state.
 */
import zookeeper from 'node-zookeeper-client';

/** A client once connected; rejects after 10 s without a connection. */
export function connectClient(connectString: string, sessionTimeoutMs = 30_000): Promise<zookeeper.Client> {
  const zkClient = zookeeper.createClient(connectString, { sessionTimeout: sessionTimeoutMs, spinDelay: 200, retries: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      zkClient.close();
      reject(new Error(`could not connect to ZooKeeper at ${connectString}`));
    }, 10_000);
    zkClient.once('connected', () => {
      clearTimeout(timer);
      resolve(zkClient);
    });
    zkClient.connect();
  });
}

export async function readZnodes(zkClient: zookeeper.Client, paths: string[]): Promise<(Buffer | undefined)[]> {
  return Promise.all(
    paths.map(
      (path) =>
        new Promise<Buffer | undefined>((resolve, reject) => {
          zkClient.getData(path, (err, data: Buffer | undefined) => (err ? reject(err) : resolve(data ?? undefined)));
        }),
    ),
  );
}

export interface ZnodeState {
  exists: boolean;
  /** undefined when absent, or when Flink wrote null data. */
  data: Buffer | undefined;
  children: string[] | undefined;
  /** The last write's time on the server's clock (epoch ms); undefined when absent or for 'children'. */
  mtimeMs: number | undefined;
}

/**
 * Resolves with the node's state once `accept` holds for it, re-reading on every ZooKeeper watch
 * event (data or, with 'children', child list); rejects with the last state seen on timeout.
 */
export function waitForZnode(
  zkClient: zookeeper.Client,
  path: string,
  accept: (state: ZnodeState) => boolean,
  timeoutMs: number,
  what: 'data' | 'children' = 'data',
): Promise<ZnodeState> {
  return new Promise((resolve, reject) => {
    let done = false;
    let last: ZnodeState | string = 'not read yet';
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`${path}: not as expected within ${timeoutMs} ms; last seen: ${describeState(last)}`));
    }, timeoutMs);
    const consider = (state: ZnodeState): void => {
      last = state;
      if (done || !accept(state)) return;
      done = true;
      clearTimeout(timer);
      resolve(state);
    };
    const check = (): void => {
      if (done) return;
      // exists() watches creation; getData()/getChildren() watch changes and deletion.
      zkClient.exists(
        path,
        () => check(),
        (err, stat) => {
          if (done) return;
          if (err) {
            last = String(err);
            return;
          }
          if (!stat) {
            consider({ exists: false, data: undefined, children: undefined, mtimeMs: undefined });
            return;
          }
          if (what === 'children') {
            zkClient.getChildren(
              path,
              () => check(),
              (childErr, children) => {
                if (childErr) last = String(childErr);
                else consider({ exists: true, data: undefined, children, mtimeMs: undefined });
              },
            );
          } else {
            zkClient.getData(
              path,
              () => check(),
              (dataErr, data: Buffer | undefined, dataStat) => {
                if (dataErr) last = String(dataErr);
                else
                  consider({
                    exists: true,
                    data: data ?? undefined,
                    children: undefined,
                    mtimeMs: Number(dataStat.mtime.readBigInt64BE(0)),
                  });
              },
            );
          }
        },
      );
    };
    check();
  });
}

function describeState(state: ZnodeState | string): string {
  if (typeof state === 'string') return state;
  if (!state.exists) return 'absent';
  if (state.children !== undefined) return `children ${JSON.stringify(state.children)}`;
  return state.data === undefined ? 'null data' : `${state.data.length} bytes`;
}
