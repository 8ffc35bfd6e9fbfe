import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@gatehouse/kit";
import { type DispatchConfig, parseMasterKey } from "../config.js";

export const LOCAL_KEY_FILE = "master.key";

/**
 * The key from the config, or in local mode the one kept under the data dir — generated on first
 * start with mode 0600 (`wx` so two processes starting together cannot write different keys).
 */
export async function resolveMasterKey(config: DispatchConfig, logger: Logger): Promise<Buffer> {
  if (config.masterKey) return config.masterKey;
  if (!config.localMode) throw new Error("GATEHOUSE_MASTER_KEY is required outside local mode");
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const path = join(config.dataDir, LOCAL_KEY_FILE);
  try {
    await writeFile(path, `${randomBytes(32).toString("hex")}\n`, { flag: "wx", mode: 0o600 });
    logger.warn(
      { path },
      "generated a local master key for provider credentials; back it up or set GATEHOUSE_MASTER_KEY",
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  // Tighten a file copied in with looser permissions; the key must not be world-readable.
  await chmod(path, 0o600);
  const key = parseMasterKey(await readFile(path, "utf8"));
  if (!key) throw new Error(`${path} does not hold a 32-byte key`);
  return key;
}
