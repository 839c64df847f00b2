/**
 * node-zookeeper-client's Exception inherits from Error (util.inherits in its lib/Exception.js),
 * which its typings leave out: with this, the `Error | Exception` its callbacks pass is an Error,
 * and tests reject promises with it as it comes. Only tests rely on it: src/ is type-checked without
 * it too (tsconfig.src.json).
 */
import 'node-zookeeper-client';

declare module 'node-zookeeper-client' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the body is Error's, merged into the class
  interface Exception extends Error {}
}
