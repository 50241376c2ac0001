import { describe, expect, it, vi } from "vitest";
import { deepEqual, ModelShim } from "../standalone";

describe("the export's model shim", () => {
  it("gets, sets and fires change events once per real change", () => {
    const model = new ModelShim({ selected: { row: null } });
    const onSelected = vi.fn();
    const onAny = vi.fn();
    model.on("change:selected", onSelected);
    model.on("change", onAny);
    model.set("selected", { row: 1 });
    model.set("selected", { row: 1 });
    expect(onSelected).toHaveBeenCalledTimes(1);
    expect(onAny).toHaveBeenCalledTimes(1);
    expect(model.get("selected")).toEqual({ row: 1 });
    model.off("change:selected", onSelected);
    model.set("selected", { row: 2 });
    expect(onSelected).toHaveBeenCalledTimes(1);
    model.save_changes();
    model.send({ hello: 1 });
    expect(model.saves).toBe(1);
    expect(model.sent).toEqual([{ hello: 1 }]);
  });

  it("compares binary leaves by their bytes", () => {
    const a = new DataView(new Uint8Array([1, 2, 3]).buffer);
    const b = new DataView(new Uint8Array([0, 1, 2, 3]).buffer, 1);
    expect(deepEqual({ x: [a] }, { x: [b] })).toBe(true);
    expect(deepEqual({ x: a }, { x: new DataView(new Uint8Array([1, 2, 4]).buffer) })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
  });
});
