import { parseEnv } from "@gatehouse/kit";
import { type BaseConfig, baseEnv, toBaseConfig } from "@gatehouse/service-host";
import { z } from "zod";

const schema = z.object({
  ...baseEnv,
});

export type AuthConfig = BaseConfig;

export function loadConfig(env: Record<string, string | undefined>): AuthConfig {
  const e = parseEnv(schema, env);
  return { ...toBaseConfig(e) };
}
