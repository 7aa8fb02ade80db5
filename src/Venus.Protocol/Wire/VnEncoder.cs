using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Venus.Protocol.Wire;

/// <summary>
/// Writes the Venus wire format (venus-protocol.md §1): little-endian 4-byte units, 64-bit values
/// only 4-aligned, no struct padding. Pad bytes are written as zeros (Mesa leaves them unwritten;
/// hosts ignore them). The caller sizes the buffer with the generated Size functions first, so a
/// write past the end is a programming error and throws.
/// </summary>
public unsafe ref struct VnEncoder
{
    readonly Span<byte> _buf;
    int _pos;

    /// <summary>Gates pNext structs by what the peer's protocol supports (§1.5); null keeps every known struct.</summary>
    public VnProtocolFilter? Filter;

    public VnEncoder(Span<byte> buffer, VnProtocolFilter? filter = null)
    {
        _buf = buffer;
        _pos = 0;
        Filter = filter;
    }

    public readonly int Position => _pos;
    public readonly ReadOnlySpan<byte> Written => _buf[.._pos];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    ref byte Reserve(int n)
    {
        if ((uint)n > (uint)(_buf.Length - _pos)) ThrowOverflow(n);
        ref byte r = ref Unsafe.Add(ref MemoryMarshal.GetReference(_buf), _pos);
        _pos += n;
        return ref r;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    readonly void ThrowOverflow(int n) =>
        throw new InvalidOperationException($"Venus encoder overflow: {n} bytes at {_pos} of {_buf.Length}; the size function and the encoder disagree");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U32(uint v) => Unsafe.WriteUnaligned(ref Reserve(4), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void I32(int v) => Unsafe.WriteUnaligned(ref Reserve(4), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void F32(float v) => Unsafe.WriteUnaligned(ref Reserve(4), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U64(ulong v) => Unsafe.WriteUnaligned(ref Reserve(8), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void I64(long v) => Unsafe.WriteUnaligned(ref Reserve(8), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void F64(double v) => Unsafe.WriteUnaligned(ref Reserve(8), v);
    /// <summary>size_t always travels as u64 (§1.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SizeT(nuint v) => U64(v);
    /// <summary>8- and 16-bit scalars occupy a whole 4-byte unit (§1.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U8(byte v) => U32(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void I8(sbyte v) => I32(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U16(ushort v) => U32(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void I16(short v) => I32(v);

    /// <summary>u64 element count of an array (§1.3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ArraySize(ulong n) => U64(n);
    /// <summary>u64 1 for a present pointer, 0 for NULL (§1.2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Pointer(bool present) => U64(present ? 1UL : 0UL);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Handle(ulong id) => U64(id);

    /// <summary>Raw bytes followed by zero padding to the next 4-byte unit.</summary>
    public void Bytes(void* src, ulong count)
    {
        if (count > (ulong)(_buf.Length - _pos)) ThrowOverflow(checked((int)Math.Min(count, int.MaxValue)));
        int n = (int)count;
        int padded = (n + 3) & ~3;
        ref byte dst = ref Reserve(padded);
        if (n != 0) Unsafe.CopyBlockUnaligned(ref dst, ref *(byte*)src, (uint)n);
        for (int i = n; i < padded; i++) Unsafe.Add(ref dst, i) = 0;
    }

    /// <summary>Element bytes of a packed scalar array (elements of 4 or 8 bytes).</summary>
    public void Elements(void* src, ulong count, int elemSize) => Bytes(src, count * (ulong)elemSize);

    /// <summary>A NUL-terminated string: u64 (strlen+1), the bytes with the NUL, padding (§1.4).</summary>
    public void String(byte* s)
    {
        if (s == null) { U64(0); return; }
        ulong len = (ulong)VnSize.StrLen(s) + 1;
        U64(len);
        Bytes(s, len);
    }

    /// <summary>A fixed char[N] member: u64 N then N bytes padded (§1.3); the string is cut at N-1.</summary>
    public void FixedString(byte* s, int n)
    {
        U64((ulong)n);
        Bytes(s, (ulong)n);
    }
}

/// <summary>Wire sizes of the primitives; generated Size functions sum these.</summary>
public static unsafe class VnSize
{
    public const ulong U32 = 4, U64 = 8, Pointer = 8, ArraySize = 8, Handle = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Padded(ulong bytes) => (bytes + 3) & ~3UL;

    public static ulong String(byte* s) => s == null ? 8 : 8 + Padded((ulong)StrLen(s) + 1);

    public static nuint StrLen(byte* s)
    {
        return (nuint)MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s).Length;
    }
}
