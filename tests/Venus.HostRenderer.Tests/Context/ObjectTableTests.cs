using Venus.HostRenderer.Context;

namespace Venus.HostRenderer.Tests.Context;

/// <summary>
/// The per-context id → handle table (venus-protocol.md §1.7) on its own, without a driver, root or
/// the chroot: ids are non-zero and unique among live objects, lookups check the type, the cap holds,
/// and freeing a parent frees its children (pools) or its whole subtree (devices).
/// </summary>
public sealed class ObjectTableTests
{
    private const int Device = 3, CommandPool = 25, CommandBuffer = 6, Buffer = 9;

    private static HostObject Obj(ulong handle, int type, ulong parent = 0, int table = -1) =>
        new() { Handle = handle, Type = type, Parent = parent, Table = table };

    [Fact]
    public void IdsAreNonZeroAndUniqueAmongLiveObjects()
    {
        var t = new ObjectTable();
        Assert.False(t.TryAdd(0, Obj(0x10, Buffer)));
        Assert.True(t.TryAdd(7, Obj(0x10, Buffer)));
        Assert.False(t.TryAdd(7, Obj(0x20, Buffer)));
        Assert.True(t.TryGet(7, out HostObject o));
        Assert.Equal(0x10UL, o.Handle);
        Assert.True(t.Remove(7, out _));
        Assert.False(t.Remove(7, out _));
        Assert.True(t.TryAdd(7, Obj(0x20, Buffer)));
        Assert.Equal(1, t.Count);
    }

    [Fact]
    public void LookupsCheckTheType()
    {
        var t = new ObjectTable();
        Assert.True(t.TryAdd(5, Obj(0xabc, Buffer)));
        Assert.True(t.TryGet(5, Buffer, out _));
        Assert.False(t.TryGet(5, Device, out _));
        Assert.False(t.TryGet(6, Buffer, out _));
        Assert.Equal(5UL, t.IdOf(0xabc, Buffer));
        Assert.Equal(0UL, t.IdOf(0xabc, Device));
    }

    [Fact]
    public void RemovingForgetsTheHandleToo()
    {
        var t = new ObjectTable();
        Assert.True(t.TryAdd(9, Obj(0x99, Buffer)));
        Assert.True(t.Remove(9, out HostObject o));
        Assert.Equal(0x99UL, o.Handle);
        Assert.Equal(0UL, t.IdOf(0x99, Buffer));
        Assert.Equal(0, t.Count);
    }

    [Fact]
    public void TheCapHolds()
    {
        var t = new ObjectTable(cap: 3);
        for (ulong id = 1; id <= 3; id++)
            Assert.True(t.TryAdd(id, Obj(0x100 + id, Buffer)));
        Assert.False(t.TryAdd(4, Obj(0x104, Buffer)));
        Assert.Equal(3, t.Count);
        Assert.True(t.Remove(2, out _));
        Assert.True(t.TryAdd(4, Obj(0x104, Buffer)));
    }

    [Fact]
    public void APoolFreesItsChildrenOnly()
    {
        var t = new ObjectTable();
        Assert.True(t.TryAdd(1, Obj(0x1, Device, table: 0)));
        Assert.True(t.TryAdd(2, Obj(0x2, CommandPool, parent: 1)));
        Assert.True(t.TryAdd(3, Obj(0x3, CommandBuffer, parent: 2)));
        Assert.True(t.TryAdd(4, Obj(0x4, CommandBuffer, parent: 2)));
        Assert.True(t.TryAdd(5, Obj(0x5, Buffer, parent: 1)));
        Assert.Equal(2, t.RemoveChildren(2));
        Assert.False(t.TryGet(3, out _));
        Assert.False(t.TryGet(4, out _));
        Assert.Equal(0UL, t.IdOf(0x3, CommandBuffer));
        Assert.True(t.TryGet(2, CommandPool, out _));
        Assert.True(t.TryGet(5, Buffer, out _));
    }

    [Fact]
    public void ADeviceFreesItsWholeSubtreeButNotItself()
    {
        var t = new ObjectTable();
        Assert.True(t.TryAdd(1, Obj(0x1, Device, table: 0)));
        Assert.True(t.TryAdd(2, Obj(0x2, CommandPool, parent: 1)));
        Assert.True(t.TryAdd(3, Obj(0x3, CommandBuffer, parent: 2)));
        Assert.True(t.TryAdd(10, Obj(0xa, Device, table: 1)));
        Assert.True(t.TryAdd(11, Obj(0xb, Buffer, parent: 10)));
        Assert.Equal(2, t.RemoveDescendants(1));
        Assert.True(t.TryGet(1, Device, out _));
        Assert.False(t.TryGet(2, out _));
        Assert.False(t.TryGet(3, out _));
        Assert.True(t.TryGet(11, Buffer, out _));
        Assert.Equal([1UL, 10UL, 11UL], t.Snapshot().Select(e => e.Id).Order().ToArray());
    }
}
