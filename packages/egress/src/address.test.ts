import { describe, expect, it } from "vitest";
import { effectiveAddress, ipv6Bytes, refusedRule } from "./address.js";

describe("address classes the egress policy refuses", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["fd00::1", "private"],
    ["fc00::1", "private"],
    ["fec0::1", "private"],
    ["64:ff9b:1::a", "private"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.127.255.255", "carrier-grade NAT"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.0.8", "reserved"],
    ["192.88.99.1", "reserved"],
    ["100::1", "reserved"],
    ["2001::1", "reserved"],
    ["::7f00:1", "reserved"],
    ["192.0.2.1", "documentation"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.9", "documentation"],
    ["2001:db8::1", "documentation"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.255", "benchmarking"],
  ])("%s is %s", (address, rule) => {
    expect(refusedRule(address)).toBe(rule);
  });

  it.each([
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["0:0:0:0:0:ffff:a9fe:a9fe", "link-local"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:0.0.0.0", "unspecified"],
    ["64:ff9b::127.0.0.1", "loopback"],
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["2002:7f00:1::1", "loopback"],
    ["2002:c0a8:101::", "private"],
  ])("the IPv6 form %s of a refused IPv4 address is %s", (address, rule) => {
    expect(refusedRule(address)).toBe(rule);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "169.253.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
  ])("%s is a public address", (address) => {
    expect(refusedRule(address)).toBeUndefined();
  });

  it("unwraps embedded IPv4 addresses and reads every IPv6 spelling", () => {
    expect(effectiveAddress("::ffff:7f00:1")).toEqual({ address: "127.0.0.1", family: "ipv4" });
    expect(effectiveAddress("2606:4700::1")).toEqual({ address: "2606:4700::1", family: "ipv6" });
    expect([...(ipv6Bytes("1:2:3:4:5:6:7.8.9.10") ?? [])]).toEqual([
      0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 7, 8, 9, 10,
    ]);
    expect([...(ipv6Bytes("a::b") ?? [])]).toEqual([0, 10, ...new Array(12).fill(0), 0, 11]);
    expect(ipv6Bytes("1.2.3.4")).toBeUndefined();
  });
});
