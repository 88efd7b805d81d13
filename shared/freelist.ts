/*
 * freelist.ts: a stack of reusable JS objects (the pools of Uios, receive states and
 * continuations on the socket paths).
 *
 * A plain array used with push() and pop() does not do: V8 shrinks an array's backing
 * store when pop() empties it, so a pool that swings between zero and one item
 * allocates a new store on every push.  This one keeps its slots and its length, and
 * only ever grows (to the most items it held at once).
 */
export class FreeList<T> {
  private readonly items: (T | undefined)[] = [];
  private n = 0;

  /* An item, or undefined when the list is empty. */
  get(): T | undefined {
    if (this.n === 0) return undefined;
    const i = --this.n;
    const x = this.items[i];
    this.items[i] = undefined;
    return x;
  }

  put(x: T): void {
    const i = this.n++;
    if (i < this.items.length) this.items[i] = x;
    else this.items.push(x);
  }
}
