using Venus.GuestIcd.Runtime;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// <see cref="IdTable{T}"/>, the lock-free table of per-object guest state (buffer requirements, image
/// shapes): ids that share a slot spill into the overflow dictionary and come back from it, removal
/// frees a slot for the next id, and threads creating and destroying their own ids at once never see
/// another id's value.
/// </summary>
public sealed class IdTableTests
{
    private record struct Value(ulong A, ulong B, uint C);

    [Fact]
    public void SetGetRemove()
    {
        var t = new IdTable<Value>();
        Assert.False(t.TryGetValue(5, out _));
        t.Set(5, new Value(1, 2, 3));
        Assert.True(t.TryGetValue(5, out Value v));
        Assert.Equal(new Value(1, 2, 3), v);
        t.Set(5, new Value(4, 5, 6)); // overwrite in place
        Assert.True(t.TryGetValue(5, out v));
        Assert.Equal(new Value(4, 5, 6), v);
        Assert.Equal(1, t.Count);
        Assert.True(t.Remove(5));
        Assert.False(t.Remove(5));
        Assert.False(t.TryGetValue(5, out _));
        Assert.Equal(0, t.Count);
        Assert.False(t.TryGetValue(0, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Set(0, default));
    }

    /// <summary>Reference values (events, query pools): Find answers slot and overflow ids, and a removed value is not kept alive by the table.</summary>
    [Fact]
    public void ReferenceValuesAreFoundAndReleased()
    {
        var t = new IdTable<object>();
        const ulong n = IdTable<object>.SlotCount;
        WeakReference Fill()
        {
            var inSlot = new object();
            var spilled = new object();
            t.Set(9, inSlot);
            t.Set(9 + n, spilled); // same slot: overflow
            Assert.Same(inSlot, t.Find(9));
            Assert.Same(spilled, t.Find(9 + n));
            Assert.Null(t.Find(9 + 2 * n));
            Assert.True(t.Remove(9));
            Assert.True(t.Remove(9 + n));
            Assert.Null(t.Find(9));
            Assert.Null(t.Find(9 + n));
            return new WeakReference(inSlot);
        }
        WeakReference removed = Fill();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(removed.IsAlive, "the table kept a removed value alive");
        t.Set(9 + 3 * n, new object()); // the cleared slot takes a new id
        Assert.NotNull(t.Find(9 + 3 * n));
        Assert.Equal(1, t.Count);
    }

    [Fact]
    public void IdsSharingASlotSpillAndComeBack()
    {
        var t = new IdTable<Value>();
        const ulong n = IdTable<Value>.SlotCount;
        ulong[] ids = [7, 7 + n, 7 + 2 * n, 7 + 3 * n]; // all in slot 7
        foreach (ulong id in ids)
            t.Set(id, new Value(id, ~id, (uint)id));
        Assert.Equal(ids.Length, t.Count);
        foreach (ulong id in ids)
        {
            Assert.True(t.TryGetValue(id, out Value v));
            Assert.Equal(new Value(id, ~id, (uint)id), v);
        }
        // Free the slot's owner: a spilled id is still found, and a new id may take the slot.
        Assert.True(t.Remove(7));
        Assert.True(t.TryGetValue(7 + n, out _));
        t.Set(7 + 4 * n, new Value(1, 1, 1));
        Assert.True(t.TryGetValue(7 + 4 * n, out Value w));
        Assert.Equal(new Value(1, 1, 1), w);
        // An id already in the overflow is updated there, not added twice.
        t.Set(7 + 2 * n, new Value(9, 9, 9));
        Assert.True(t.TryGetValue(7 + 2 * n, out Value u));
        Assert.Equal(new Value(9, 9, 9), u);
        foreach (ulong id in new[] { 7 + n, 7 + 2 * n, 7 + 3 * n, 7 + 4 * n })
            Assert.True(t.Remove(id));
        Assert.Equal(0, t.Count);
    }

    [Fact]
    public void ThreadsCreatingAndDestroyingSeeOnlyTheirOwnValues()
    {
        var t = new IdTable<Value>();
        long next = 0;
        int bad = 0;
        var threads = new Thread[4];
        for (int k = 0; k < threads.Length; k++)
        {
            threads[k] = new Thread(() =>
            {
                var live = new Queue<ulong>();
                for (int i = 0; i < 200_000; i++)
                {
                    ulong id = (ulong)Interlocked.Increment(ref next);
                    t.Set(id, new Value(id, id * 3, (uint)id));
                    live.Enqueue(id);
                    if (live.Count > 300) // some ids stay alive long enough to collide with others' slots
                    {
                        ulong old = live.Dequeue();
                        if (!t.TryGetValue(old, out Value v) || v != new Value(old, old * 3, (uint)old) || !t.Remove(old))
                            Interlocked.Increment(ref bad);
                    }
                }
                while (live.Count > 0)
                {
                    ulong old = live.Dequeue();
                    if (!t.TryGetValue(old, out Value v) || v != new Value(old, old * 3, (uint)old) || !t.Remove(old))
                        Interlocked.Increment(ref bad);
                }
            });
            threads[k].Start();
        }
        foreach (Thread th in threads)
            th.Join();
        Assert.Equal(0, bad);
        Assert.Equal(0, t.Count);
    }
}
