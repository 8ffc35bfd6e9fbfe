import { describe, expect, it } from "vitest";
import { accessEventStreamName, microServiceName, PREFIX_PATTERN, subjectFor } from "../src/index.js";

describe("subjects", () => {
  it("are <prefix>.v1.<service>.<action>", () => {
    expect(subjectFor("gatehouse", "auth", "validate")).toBe("gatehouse.v1.auth.validate");
    expect(subjectFor("t1", "auth", "admin.users.create")).toBe("t1.v1.auth.admin.users.create");
  });

  it("scope service names and streams by prefix", () => {
    expect(microServiceName("tenant-a", "acl")).toBe("tenant-a-acl");
    expect(accessEventStreamName("tenant-a")).toBe("tenant-a_access_events");
  });

  it("refuses prefixes that would add subject tokens or wildcards", () => {
    expect(PREFIX_PATTERN.test("gatehouse")).toBe(true);
    for (const bad of ["a.b", "a*", ">", "", "a b"]) expect(PREFIX_PATTERN.test(bad)).toBe(false);
  });
});
