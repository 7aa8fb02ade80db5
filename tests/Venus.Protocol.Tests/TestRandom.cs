using System.Runtime.InteropServices;
using Venus.Protocol.Wire;

namespace Venus.Protocol.Tests.Generated;

/// <summary>
/// Seeded source of random native arguments. Everything it allocates lives in native memory (an
/// arena) so generated structs can point at it; dispose to free it.
/// </summary>
public sealed unsafe class TestRandom : IDisposable
{
    readonly Random _r;
    readonly VnArena _fill = new(cap: 256UL << 20);
    public VnArena DecodeArena { get; } = new(cap: 256UL << 20);

    public TestRandom(int seed) => _r = new Random(seed);

    public int Below(int n) => _r.Next(n);
    public bool Chance(int percent) => _r.Next(100) < percent;
    /// <summary>Element counts stay small so every array is short but non-trivial.</summary>
    public uint Count() => (uint)_r.Next(0, 4);

    public uint U32() => (uint)_r.NextInt64(0, 1L << 32);
    public int I32() => (int)U32();
    public ulong U64() => ((ulong)U32() << 32) | U32();
    public long I64() => (long)U64();
    public byte U8() => (byte)_r.Next(256);
    public sbyte I8() => (sbyte)_r.Next(256);
    public ushort U16() => (ushort)_r.Next(65536);
    public short I16() => (short)_r.Next(65536);
    public float F32() => (float)(_r.NextDouble() * 1000 - 500);
    public double F64() => _r.NextDouble() * 1e6 - 5e5;
    public nuint SizeT() => (nuint)U64();
    public ulong Handle() => Chance(10) ? 0 : U64() | 1;

    public T* Alloc<T>(ulong count) where T : unmanaged
    {
        if (count == 0) count = 1;
        var p = (T*)_fill.Alloc((ulong)sizeof(T) * count);
        if (p == null) throw new InvalidOperationException("test arena exhausted");
        return p;
    }

    public void Bytes(void* dst, int n)
    {
        var span = new Span<byte>(dst, n);
        _r.NextBytes(span);
    }

    /// <summary>A NUL-terminated ASCII string of 0–11 letters.</summary>
    public byte* String()
    {
        int n = _r.Next(0, 12);
        var s = Alloc<byte>((ulong)n + 1);
        for (int i = 0; i < n; i++) s[i] = (byte)('a' + _r.Next(26));
        s[n] = 0;
        return s;
    }

    public static int FirstDifference(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return n;
    }

    public void Dispose()
    {
        _fill.Dispose();
        DecodeArena.Dispose();
    }
}
