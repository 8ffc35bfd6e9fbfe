import { describe, expect, it } from "vitest";
import { EMPTY_ALLOWLIST, parseEgressAllowlist } from "./allowlist.js";
import { EgressPolicy } from "./policy.js";

const strict = new EgressPolicy({ allow: EMPTY_ALLOWLIST, allowLoopback: false });
const policy = (allow: string, allowLoopback = false) =>
  new EgressPolicy({ allow: parseEgressAllowlist(allow), allowLoopback });

describe("the egress policy on a URL's face (no DNS)", () => {
  it.each([
    ["http://127.0.0.1:11434/v1", "loopback"],
    ["http://localhost:8080", "loopback"],
    ["http://LOCALHOST./", "loopback"],
    ["http://api.localhost/", "loopback"],
    ["http://2130706433/", "loopback"],
    ["http://0x7f.1/", "loopback"],
    ["http://017700000001/", "loopback"],
    ["http://127.1/", "loopback"],
    ["http://[::1]:8000/", "loopback"],
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://[0:0:0:0:0:ffff:7f00:1]/", "loopback"],
    ["http://169.254.169.254/latest/meta-data/", "link-local"],
    ["http://[fe80::1]/", "link-local"],
    ["https://10.0.0.5/v1", "private"],
    ["http://[fd12::1]/", "private"],
    ["http://100.64.1.1/", "carrier-grade NAT"],
    ["http://0/", "unspecified"],
    ["http://224.0.0.1/", "multicast"],
    ["http://255.255.255.255/", "broadcast"],
  ])("refuses %s as %s, naming the rule and the way out", (url, rule) => {
    const refusal = strict.checkUrl(url);
    expect(refusal?.rule).toBe(rule);
    expect(refusal?.message).toBe(
      `${rule} addresses are refused by the egress policy; allow them with GATEHOUSE_EGRESS_ALLOW`,
    );
  });

  it("lets names through to the connect-time check, and public addresses", () => {
    expect(strict.checkUrl("https://api.openai.com/v1")).toBeUndefined();
    expect(strict.checkUrl("http://ollama.internal:11434")).toBeUndefined();
    expect(strict.checkUrl("https://8.8.8.8/")).toBeUndefined();
    expect(strict.checkUrl("not a url")).toBeUndefined();
  });

  it("allows what the allowlist names: ranges, addresses, hosts and subdomain wildcards", () => {
    const p = policy("10.0.0.0/8, 127.0.0.1/32 ,ollama.internal,*.svc.cluster.local,fd00::/8");
    expect(p.checkUrl("http://10.20.30.40/")).toBeUndefined();
    expect(p.checkUrl("http://127.0.0.1:1234/")).toBeUndefined();
    expect(p.checkUrl("http://[::ffff:127.0.0.1]/")).toBeUndefined();
    expect(p.checkUrl("http://localhost:1234/")).toBeUndefined();
    expect(p.checkUrl("http://[fd00::5]/")).toBeUndefined();
    expect(p.checkUrl("http://127.0.0.2/")?.rule).toBe("loopback");
    expect(p.checkUrl("http://169.254.169.254/")?.rule).toBe("link-local");
    expect(p.checkUrl("http://192.168.0.1/")?.rule).toBe("private");
    expect(p.allowsHost("OLLAMA.internal.")).toBe(true);
    expect(p.allowsHost("vllm.ml.svc.cluster.local")).toBe(true);
    expect(p.allowsHost("svc.cluster.local")).toBe(false);
    expect(p.allowsHost("ollama.internal.evil.example")).toBe(false);
  });

  it("local mode allows loopback and nothing else", () => {
    const local = policy("", true);
    expect(local.checkUrl("http://127.0.0.1:11434/")).toBeUndefined();
    expect(local.checkUrl("http://localhost:11434/")).toBeUndefined();
    expect(local.checkUrl("http://[::1]/")).toBeUndefined();
    expect(local.checkAddress("::ffff:127.0.0.1")).toBeUndefined();
    expect(local.checkUrl("http://10.0.0.1/")?.rule).toBe("private");
    expect(local.checkUrl("http://169.254.169.254/")?.rule).toBe("link-local");
  });
});

describe("GATEHOUSE_EGRESS_ALLOW", () => {
  it("parses ranges, bare addresses, names and wildcards", () => {
    expect(
      parseEgressAllowlist(" 10.0.0.0/8,192.168.1.20, [fd00::1] ,Ollama.Internal.,*.svc.local,"),
    ).toEqual({
      networks: [
        { address: "10.0.0.0", prefix: 8 },
        { address: "192.168.1.20", prefix: 32 },
        { address: "fd00::1", prefix: 128 },
      ],
      hosts: ["ollama.internal"],
      suffixes: [".svc.local"],
    });
    expect(parseEgressAllowlist("")).toEqual(EMPTY_ALLOWLIST);
  });

  it.each([
    ["10.0.0.0/33", /prefix length/],
    ["10.0.0.0/x", /prefix length/],
    ["300.1.1.1/8", /not an IP address/],
    ["http://ollama.internal", /not a host name/],
    ["ollama.internal:11434", /not a host name/],
    ["bad host", /not a host name/],
    ["0x7f.1", /reads as the IP address 127\.0\.0\.1/],
    ["::ffff:10.0.0.0/104", /IPv4 notation/],
  ])("refuses %s with a message naming it", (entry, message) => {
    expect(() => parseEgressAllowlist(entry)).toThrow(message);
  });
});
