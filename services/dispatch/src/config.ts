import { parseEnv } from "@gatehouse/kit";
import { type BaseConfig, baseEnv, toBaseConfig } from "@gatehouse/service-host";
import { z } from "zod";

const schema = z.object({
  ...baseEnv,
});

export type DispatchConfig = BaseConfig;

export function loadConfig(env: Record<string, string | undefined>): DispatchConfig {
  const e = parseEnv(schema, env);
  return { ...toBaseConfig(e) };
}
