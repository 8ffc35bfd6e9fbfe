import { Server } from "node:net";

/**
 * Preloaded (`node --import`) into the Portkey gateway, whose start script has no host option and
 * would otherwise listen on every interface: a `listen(port)` without a host binds 127.0.0.1 instead.
 */
const original = Server.prototype.listen as (this: Server, ...args: unknown[]) => Server;
Server.prototype.listen = function listen(this: Server, ...args: unknown[]) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
    const callback = args.length > 2 ? args[2] : args[1];
    return original.call(this, args[0], "127.0.0.1", callback);
  }
  return original.apply(this, args);
} as typeof Server.prototype.listen;
