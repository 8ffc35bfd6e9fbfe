/**
 * Something a `Deadlines` watches: the list's links live on the item itself, so watching one
 * allocates nothing (a `setTimeout` per item made a Timeout object and its arguments per routed
 * call, which lived as long as the call and so were copied and promoted by the young-generation GC).
 */
export interface Due {
  /** When `expired` is called (on `Deadlines`' clock); set by `add`. */
  dueAt: number;
  dueList: DueList | undefined;
  prevDue: Due | undefined;
  nextDue: Due | undefined;
  /** The deadline passed while the item was watched (it is no longer watched). */
  expired(): void;
}

/** The items of one duration, in the order they were added, which is also their deadlines' order. */
export interface DueList {
  readonly ms: number;
  head: Due | undefined;
  tail: Due | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Deadlines for many short-lived items of a few durations (a route's first-byte timeout): per
 * duration, a list in deadline order and one timer, set for its first item. Adding and removing an
 * item are a few field writes; the timer is set again only when it fires, so at most once per
 * duration and expiry.
 */
export class Deadlines {
  private readonly lists = new Map<number, DueList>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Watches `item`: `expired()` is called `ms` from now unless it is removed first. */
  add(item: Due, ms: number): void {
    let list = this.lists.get(ms);
    if (list === undefined) {
      list = { ms, head: undefined, tail: undefined, timer: undefined };
      this.lists.set(ms, list);
    }
    item.dueAt = this.now() + ms;
    item.dueList = list;
    item.prevDue = list.tail;
    item.nextDue = undefined;
    if (list.tail === undefined) list.head = item;
    else list.tail.nextDue = item;
    list.tail = item;
    if (list.timer === undefined) list.timer = setTimeout(this.fire, ms, this, list);
  }

  /** Stops watching `item` (nothing happens if it is not watched). */
  remove(item: Due): void {
    const list = item.dueList;
    if (list === undefined) return;
    const { prevDue, nextDue } = item;
    if (prevDue === undefined) list.head = nextDue;
    else prevDue.nextDue = nextDue;
    if (nextDue === undefined) list.tail = prevDue;
    else nextDue.prevDue = prevDue;
    // No links left on a removed item: nothing it pointed to is kept alive through it.
    item.dueList = undefined;
    item.prevDue = undefined;
    item.nextDue = undefined;
  }

  /** Items still watched (tests). */
  size(): number {
    let n = 0;
    for (const list of this.lists.values()) for (let at = list.head; at; at = at.nextDue) n++;
    return n;
  }

  private fire(this: void, self: Deadlines, list: DueList): void {
    list.timer = undefined;
    const now = self.now();
    try {
      // A timer may fire a little early by this clock (libuv's loop time is cached): what is due
      // within a millisecond is due.
      for (let head = list.head; head !== undefined && head.dueAt <= now + 1; head = list.head) {
        self.remove(head);
        head.expired();
      }
    } finally {
      // Set again for the first item left, whatever happened above: an `expired()` that threw must
      // not leave the rest unwatched (they are due at once), and a timer an `add` set meanwhile is
      // for the item it added, a whole duration away, while an item before it may be due sooner.
      if (list.timer !== undefined) clearTimeout(list.timer);
      const next = list.head;
      list.timer =
        next === undefined
          ? undefined
          : setTimeout(self.fire, Math.max(1, Math.ceil(next.dueAt - now)), self, list);
    }
  }
}
