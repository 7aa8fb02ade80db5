using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Venus.Protocol.Wire;

/// <summary>Why a decode failed. The host treats every one as fatal for the context (§9).</summary>
public enum VnDecodeError
{
    None = 0,
    /// <summary>A read ran past the end of the stream.</summary>
    Overrun,
    /// <summary>An array size differs from its count member, or a required array is missing (§1.3).</summary>
    ArraySizeMismatch,
    /// <summary>An sType not allowed in this pNext chain, or a wrong sType for the struct (§1.5).</summary>
    UnexpectedSType,
    /// <summary>A union tag that names no encodable member.</summary>
    BadUnionTag,
    /// <summary>An object id the context does not know, or of the wrong object type (§1.7).</summary>
    BadHandle,
    /// <summary>The per-command allocation cap was exceeded.</summary>
    AllocationCap,
    /// <summary>A fixed-size array arrived with another size.</summary>
    FixedArraySize,
    /// <summary>A reply element count exceeds what the caller provided room for.</summary>
    ReplyTooLarge,
    /// <summary>A command type this decoder does not know.</summary>
    UnknownCommand,
    /// <summary>A string without its terminating NUL, or a length that cannot be right.</summary>
    BadString,
    /// <summary>A required pointer was NULL on the wire.</summary>
    MissingPointer,
    /// <summary>
    /// A pNext chain with more elements than the structs the protocol knows for that chain (the
    /// generated <c>ChainLimit</c> of its base struct: each known struct once; structs vk.xml
    /// lets repeat do not count).
    /// </summary>
    ChainTooLong,
    /// <summary>VK_NULL_HANDLE where the command requires an object.</summary>
    NullHandle,
    /// <summary>Something the protocol never carries (a non-NULL pAllocator, a command without a body).</summary>
    Unsupported,
    /// <summary>
    /// A value of an enum type that is none of vk.xml's values for it ("must be a valid VkX value"):
    /// drivers index tables with some (lavapipe faulted on a VkComponentSwizzle of 301989888).
    /// </summary>
    InvalidEnum,
}

/// <summary>Start of every Vulkan struct with sType/pNext, for walking chains.</summary>
public unsafe struct VnChainHeader
{
    public int sType;
    public void* pNext;
}

/// <summary>Maps guest object ids to real handles while decoding requests (host side).</summary>
public interface IVnHandleTranslator
{
    /// <summary>Returns false when the id is unknown or names an object of another type.</summary>
    bool TryTranslate(ulong id, int objectType, out ulong handle);
}

/// <summary>
/// Reads the Venus wire format without ever reading past its span. Errors are sticky (like
/// virglrenderer's fatal flag): after the first one every read returns zero, allocations
/// return null and generated code unwinds; the caller checks <see cref="Error"/>.
/// Pointees of decoded structs live in <see cref="Arena"/>, reset per command by the caller.
/// </summary>
public unsafe ref struct VnDecoder
{
    readonly ReadOnlySpan<byte> _buf;
    int _pos;
    public VnArena? Arena;
    /// <summary>Translates input handles (host request decoding); null keeps ids as they are.</summary>
    public IVnHandleTranslator? Translator;
    public VnDecodeError Error;
    /// <summary>Position of the first error, for the log line.</summary>
    public int ErrorPosition;

    public VnDecoder(ReadOnlySpan<byte> buffer, VnArena? arena = null, IVnHandleTranslator? translator = null)
    {
        _buf = buffer;
        _pos = 0;
        Arena = arena;
        Translator = translator;
        Error = VnDecodeError.None;
        ErrorPosition = 0;
    }

    public readonly int Position => _pos;
    public readonly int Remaining => _buf.Length - _pos;
    public readonly bool Failed => Error != VnDecodeError.None;
    public readonly bool AtEnd => _pos >= _buf.Length;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Fail(VnDecodeError e)
    {
        if (Error == VnDecodeError.None) { Error = e; ErrorPosition = _pos; }
        _pos = _buf.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool Take(int n, out int at)
    {
        at = _pos;
        // _pos never exceeds the length, so the room left is never negative; a negative n is huge as uint.
        if ((uint)n > (uint)(_buf.Length - _pos)) { Fail(VnDecodeError.Overrun); return false; }
        _pos += n;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    T Read<T>(int n) where T : unmanaged
        => Take(n, out int at) ? Unsafe.ReadUnaligned<T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(_buf), at)) : default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public uint U32() => Read<uint>(4);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public int I32() => Read<int>(4);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float F32() => Read<float>(4);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public ulong U64() => Read<ulong>(8);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public long I64() => Read<long>(8);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public double F64() => Read<double>(8);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public nuint SizeT() => (nuint)U64();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public byte U8() => (byte)U32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public sbyte I8() => (sbyte)I32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public ushort U16() => (ushort)U32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public short I16() => (short)I32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public ulong ArraySize() => U64();
    /// <summary>Any non-zero value means present, as both peers read it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public bool Pointer() => U64() != 0;

    /// <summary>Reads a u64 and checks it equals the fixed array length N (§1.3).</summary>
    public bool FixedArraySize(ulong n)
    {
        ulong got = U64();
        if (Failed) return false;
        if (got != n) { Fail(VnDecodeError.FixedArraySize); return false; }
        return true;
    }

    /// <summary>An input handle: id 0 is NULL; others go through the translator with their object type.</summary>
    public ulong Handle(int objectType)
    {
        ulong id = U64();
        if (id == 0 || Translator == null || Failed) return id;
        if (!Translator.TryTranslate(id, objectType, out ulong h)) { Fail(VnDecodeError.BadHandle); return 0; }
        return h;
    }

    /// <summary>An id whose object is created by this command, or an output id: never translated.</summary>
    public ulong RawHandle() => U64();

    /// <summary>Copies count raw bytes and skips the padding.</summary>
    public void Bytes(void* dst, ulong count)
    {
        if (count > (ulong)Remaining) { Fail(VnDecodeError.Overrun); return; }
        int n = (int)count;
        int padded = (n + 3) & ~3;
        if (!Take(padded, out int at)) return;
        if (n != 0) Unsafe.CopyBlockUnaligned(ref *(byte*)dst, ref Unsafe.Add(ref MemoryMarshal.GetReference(_buf), at), (uint)n);
    }

    /// <summary>Skips count raw bytes and their padding (reply data the caller has no room for is an error elsewhere).</summary>
    public void Skip(ulong count)
    {
        if (count > (ulong)Remaining) { Fail(VnDecodeError.Overrun); return; }
        Take(((int)count + 3) & ~3, out _);
    }

    /// <summary>
    /// Allocates zeroed memory for count elements from the arena. Fails (null) when the arena is
    /// missing, the size overflows, or the cap is reached. The byte check against the remaining
    /// stream is done by the caller where each element has a minimum wire size.
    /// </summary>
    public void* Alloc(ulong count, ulong elemSize)
    {
        if (Failed) return null;
        if (count == 0) return null;
        if (Arena == null || elemSize == 0 || count > ulong.MaxValue / elemSize) { Fail(VnDecodeError.AllocationCap); return null; }
        void* p = Arena.Alloc(count * elemSize);
        if (p == null) Fail(VnDecodeError.AllocationCap);
        return p;
    }

    /// <summary>An array size whose elements each occupy at least minWireSize bytes must fit in what is left.</summary>
    public bool CheckArrayFits(ulong count, ulong minWireSize)
    {
        if (Failed) return false;
        if (minWireSize != 0 && count > (ulong)Remaining / minWireSize) { Fail(VnDecodeError.Overrun); return false; }
        return true;
    }

    /// <summary>Decodes a string (§1.4) into the arena; size 0 is NULL; the last byte is forced to NUL as the host rule says.</summary>
    public byte* String()
    {
        ulong n = U64();
        if (n == 0 || Failed) return null;
        if (!CheckArrayFits(n, 1)) return null;
        byte* s = (byte*)Alloc(n, 1);
        if (s == null) return null;
        Bytes(s, n);
        s[n - 1] = 0;
        return s;
    }

    /// <summary>Decodes a string into caller memory of capacity bytes (replies).</summary>
    public void StringInto(byte* dst, ulong capacity)
    {
        ulong n = U64();
        if (Failed || n == 0) return;
        if (n > capacity) { Fail(VnDecodeError.ReplyTooLarge); return; }
        Bytes(dst, n);
        dst[n - 1] = 0;
    }

    /// <summary>A fixed char/uint8 array: u64 N then N bytes.</summary>
    public void FixedBytes(byte* dst, int n)
    {
        if (!FixedArraySize((ulong)n)) return;
        Bytes(dst, (ulong)n);
    }
}
