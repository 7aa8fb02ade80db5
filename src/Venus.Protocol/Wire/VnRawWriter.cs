using System.Runtime.CompilerServices;

namespace Venus.Protocol.Wire;

/// <summary>
/// The recording fast path's writer (issue 12): the same wire format and method names as
/// <see cref="VnEncoder"/>, but a bare cursor with no bounds check per field. Only the generated
/// encoders of "flat" vkCmd* commands use it — commands whose wire size follows from their by-value
/// parameters alone (scalars, handles, and arrays of scalars or of flat structs counted by a
/// parameter) — so the caller reserves the exact <c>Size</c> once and the app cannot make the
/// encoder write more than that by changing its memory in between. The caller checks the total
/// once per command (<see cref="Position"/>).
/// </summary>
public unsafe ref struct VnRawWriter
{
    byte* _p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VnRawWriter(byte* start) => _p = start;

    /// <summary>The next byte to write.</summary>
    public readonly byte* Position
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U32(uint v) { Unsafe.WriteUnaligned(_p, v); _p += 4; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void I32(int v) { Unsafe.WriteUnaligned(_p, v); _p += 4; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void F32(float v) { Unsafe.WriteUnaligned(_p, v); _p += 4; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U64(ulong v) { Unsafe.WriteUnaligned(_p, v); _p += 8; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void I64(long v) { Unsafe.WriteUnaligned(_p, v); _p += 8; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void F64(double v) { Unsafe.WriteUnaligned(_p, v); _p += 8; }
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

    /// <summary>Raw bytes followed by zero padding to the next 4-byte unit (the reserved size counted it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Bytes(void* src, ulong count)
    {
        nuint n = (nuint)count;
        if (n != 0) Unsafe.CopyBlockUnaligned(_p, src, (uint)n);
        nuint padded = (n + 3) & ~(nuint)3;
        for (nuint i = n; i < padded; i++) _p[i] = 0;
        _p += padded;
    }
}
