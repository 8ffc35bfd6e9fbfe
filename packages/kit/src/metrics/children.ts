/**
 * Bound children of a labelled series, looked up by their label values through nested maps: no
 * string is built and no labels object is hashed per observation, which is what prom-client does
 * for `inc(labels)`. Only for labels whose values are already bounded.
 */
export class Children<C> {
  private readonly root = new Map<string, unknown>();

  constructor(private readonly make: (values: readonly string[]) => C) {}

  get1(a: string): C {
    let c = this.root.get(a) as C | undefined;
    if (c === undefined) {
      c = this.make([a]);
      this.root.set(a, c);
    }
    return c;
  }

  get2(a: string, b: string): C {
    const level = this.level(this.root, a);
    let c = level.get(b) as C | undefined;
    if (c === undefined) {
      c = this.make([a, b]);
      level.set(b, c);
    }
    return c;
  }

  get3(a: string, b: string, c: string): C {
    const level = this.level(this.level(this.root, a), b);
    let child = level.get(c) as C | undefined;
    if (child === undefined) {
      child = this.make([a, b, c]);
      level.set(c, child);
    }
    return child;
  }

  get4(a: string, b: string, c: string, d: string): C {
    const level = this.level(this.level(this.level(this.root, a), b), c);
    let child = level.get(d) as C | undefined;
    if (child === undefined) {
      child = this.make([a, b, c, d]);
      level.set(d, child);
    }
    return child;
  }

  private level(parent: Map<string, unknown>, key: string): Map<string, unknown> {
    let next = parent.get(key) as Map<string, unknown> | undefined;
    if (next === undefined) {
      next = new Map();
      parent.set(key, next);
    }
    return next;
  }
}
