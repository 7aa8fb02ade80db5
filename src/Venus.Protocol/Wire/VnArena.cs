using System.Runtime.InteropServices;

namespace Venus.Protocol.Wire;

/// <summary>
/// Bump allocator in native memory for the pointees of decoded commands. The host resets it after
/// each command; memory is zeroed on allocation. Total use is capped so a hostile stream cannot
/// make the host allocate without bound.
/// </summary>
public sealed unsafe class VnArena : IDisposable
{
    const ulong Align = 16;
    readonly ulong _blockSize;
    readonly List<nint> _blocks = new();
    readonly List<ulong> _sizes = new();
    int _block = -1;
    ulong _used;      // in the current block
    ulong _total;     // since the last reset
    bool _disposed;

    /// <summary>Most bytes one command may allocate.</summary>
    public ulong Cap { get; }
    public ulong BytesInUse => _total;

    public VnArena(ulong cap = 64UL << 20, ulong blockSize = 64 << 10)
    {
        Cap = cap;
        _blockSize = blockSize;
    }

    /// <summary>Returns zeroed memory, or null when the cap would be exceeded.</summary>
    public void* Alloc(ulong size)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        size = (size + Align - 1) & ~(Align - 1);
        if (size > Cap || _total + size > Cap) return null;
        if (_block < 0 || _used + size > _sizes[_block])
        {
            // Move to the next block that fits, allocating one if needed; earlier blocks stay for reuse after Reset.
            int next = _block + 1;
            while (next < _blocks.Count && _sizes[next] < size) next++;
            if (next >= _blocks.Count)
            {
                ulong bs = Math.Max(_blockSize, size);
                _blocks.Add((nint)NativeMemory.AlignedAlloc((nuint)bs, (nuint)Align));
                _sizes.Add(bs);
                next = _blocks.Count - 1;
            }
            _block = next;
            _used = 0;
        }
        byte* p = (byte*)_blocks[_block] + _used;
        _used += size;
        _total += size;
        NativeMemory.Clear(p, (nuint)size);
        return p;
    }

    public T* Alloc<T>(ulong count = 1) where T : unmanaged => (T*)Alloc((ulong)sizeof(T) * count);

    public void Reset()
    {
        _block = -1;
        _used = 0;
        _total = 0;
        // Blocks beyond the first grow only for unusual commands; release them so one large command does not pin memory.
        while (_blocks.Count > 1 && _sizes[^1] > _blockSize)
        {
            NativeMemory.AlignedFree((void*)_blocks[^1]);
            _blocks.RemoveAt(_blocks.Count - 1);
            _sizes.RemoveAt(_sizes.Count - 1);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var b in _blocks) NativeMemory.AlignedFree((void*)b);
        _blocks.Clear();
        _sizes.Clear();
    }
}
