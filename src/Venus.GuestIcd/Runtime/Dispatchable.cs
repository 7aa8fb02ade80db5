using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Venus.Protocol.Wire;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// A dispatchable Vulkan object (instance, physical device, device, queue, command buffer). The
/// handle the app sees is a native block: word 0 belongs to the loader (ICD_LOADER_MAGIC, then its
/// dispatch table pointer), word 1 is a GCHandle to this object. The handle's address is also the
/// object id on the wire (venus-protocol.md §1.7: ids are guest-chosen, unique, non-zero), so
/// handles inside structs (VkSubmitInfo.pCommandBuffers, ...) travel without translation.
/// </summary>
internal abstract unsafe class DispatchableObject
{
    public const ulong LoaderMagic = 0x01CDC0DE;

    private nint* _block;
    private GCHandle _self;

    protected DispatchableObject()
    {
        _block = (nint*)NativeMemory.AllocZeroed(2, (nuint)sizeof(nint));
        _block[0] = (nint)LoaderMagic;
        _self = GCHandle.Alloc(this, GCHandleType.Normal);
        _block[1] = GCHandle.ToIntPtr(_self);
    }

    /// <summary>The handle given to the app, and the object's id on the wire.</summary>
    public ulong Handle => (ulong)_block;

    public abstract GuestInstance Instance { get; }
    public GuestRing Ring => Instance.Ring;
    public VnProtocolFilter Filter => Instance.Ring.Filter;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DispatchableObject From(ulong handle)
    {
        if (handle == 0)
            ThrowNull();
        nint gc = ((nint*)handle)[1];
        return Unsafe.As<DispatchableObject>(GCHandle.FromIntPtr(gc).Target!);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T From<T>(ulong handle) where T : DispatchableObject
    {
        if (handle == 0)
            ThrowNull();
        nint gc = ((nint*)handle)[1];
        return GCHandle.FromIntPtr(gc).Target as T ?? throw new InvalidOperationException($"handle 0x{handle:x} is not a {typeof(T).Name}");
    }

    private static void ThrowNull() => throw new ArgumentNullException("handle", "a NULL dispatchable handle");

    /// <summary>Frees the native block; the handle must not be used afterwards.</summary>
    public void ReleaseHandle()
    {
        if (_block == null)
            return;
        _block[1] = 0;
        NativeMemory.Free(_block);
        _block = null;
        if (_self.IsAllocated)
            _self.Free();
    }
}
