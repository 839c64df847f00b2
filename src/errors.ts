/**
 * Errors named by origin, so that a log line or a not-ready reason says where a problem came from.
 * Each keeps the underlying error as `cause`.
 */

/** Invalid settings: every problem found, reported at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One human-readable line per problem, each naming the flag or variable at fault. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`, options);
    this.problems = problems;
  }
}

/** A ZooKeeper call failed; `code` is node-zookeeper-client's exception name (NO_AUTH, CONNECTION_LOSS, ...). */
export class ZooKeeperError extends Error {
  override readonly name = 'ZooKeeperError';
  readonly code: string;
  readonly path: string | undefined;

  constructor(message: string, code: string, path?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.path = path;
  }
}

/** Bytes in a leader information znode that are not Flink's writeUTF(address) + writeObject(UUID). */
export class LeaderInfoDecodeError extends Error {
  override readonly name = 'LeaderInfoDecodeError';
  /** Byte offset where decoding stopped. */
  readonly offset: number;

  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(`${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}
