import { startTcpProxy, type TcpProxy, type TestDatabase } from "@gatehouse/testkit";
import { type Database, openDatabase } from "../src/index.js";

/** A test database reached through a TCP proxy the test can cut or stall, and the proxy. */
export async function throughProxy(
  testDb: TestDatabase,
  maxConnections: number,
): Promise<{ proxy: TcpProxy; db: Database }> {
  const url = new URL(testDb.url);
  const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return { proxy, db: await openDatabase({ url: url.toString(), maxConnections }) };
}

/** What `p` rejects with; undefined when it resolves. */
export const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );
