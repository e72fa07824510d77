// Shared by server.mjs (the tests) and standalone.mjs (scripts/cluster.sh).
/**
 * s3rver keeps each key as files in folders: a DELETE removes the folders it leaves empty, and a
 * PUT makes its folder then opens its file with no error handler. A PUT whose folder a DELETE of
 * a neighbour removes in between throws ENOENT outside any promise and ends the process, so the
 * bucket is gone for the rest of a test run (a replaced original's variant purge, racing an edge
 * storing a new variant in the same folder, did that in the cluster suite). Real S3 has no
 * folders and no such race; here the store's writes run one at a time (reads still overlap).
 */
export function serializeWrites(store) {
  let last = Promise.resolve();
  // (putObjectMultipart is not wrapped: it ends in this.putObject, which is.)
  for (const name of ['putObject', 'copyObject', 'deleteObject']) {
    const write = store[name].bind(store);
    store[name] = (...args) => {
      const result = last.then(() => write(...args));
      last = result.catch(() => {});
      return result;
    };
  }
}
