using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// A command buffer records locally: <c>vkBeginCommandBuffer</c>, every <c>vkCmd*</c> and
/// <c>vkEndCommandBuffer</c> are encoded (flags 0) into a native stream that goes to the ring at
/// <c>vkEndCommandBuffer</c> (venus-protocol.md §8.6), in chunks that end on command boundaries.
/// Generated <c>vkCmd*</c> exports call <see cref="Reserve"/>, the command's <c>Encode</c>, then
/// <see cref="Commit"/>: no allocation once the stream has grown to its working size.
/// </summary>
internal sealed unsafe class CommandBuffer : DispatchableObject
{
    /// <summary>A chunk is closed when the next command would take it past this many bytes.</summary>
    private const int ChunkBytes = 64 * 1024;

    private byte* _stream;
    private int _length, _capacity;
    private int _chunkStart;
    private int[] _boundaries = new int[8];
    private int _boundaryCount;
    private byte* _scratch;
    private nuint _scratchBytes;
    private QueryRecord[] _queryRecords = [];
    private int _queryRecordCount;

    public CommandBuffer(Device device, CommandPool pool, VkCommandBufferLevel level)
    {
        Device = device;
        Pool = pool;
        Level = level;
        StreamFilter = device.Filter;
    }

    public Device Device { get; }
    public CommandPool Pool { get; }
    public VkCommandBufferLevel Level { get; }
    public override GuestInstance Instance => Device.Instance;

    /// <summary>The filter the generated size and encode functions use.</summary>
    public VnProtocolFilter StreamFilter { get; }

    /// <summary>The first error met while recording; vkEndCommandBuffer returns it.</summary>
    public VkResult RecordResult { get; private set; } = VkResult.VK_SUCCESS;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CommandBuffer FromHandle(ulong handle) => Unsafe.As<CommandBuffer>(From(handle));

    /// <summary>Room for one command of <paramref name="size"/> bytes; returns its encoder.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VnEncoder Reserve(ulong size)
    {
        if (size > (ulong)(_capacity - _length) || _length - _chunkStart + (long)size > ChunkBytes)
            Grow(size);
        return new VnEncoder(new Span<byte>(_stream + _length, (int)size), StreamFilter);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Commit(in VnEncoder e) => _length += e.Position;

    /// <summary>
    /// The recording fast path (flat vkCmd*, see VnRawWriter): room for exactly <paramref name="size"/>
    /// bytes, written without a check per field.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VnRawWriter ReserveRaw(ulong size)
    {
        if (size > (ulong)(_capacity - _length) || _length - _chunkStart + (long)size > ChunkBytes)
            Grow(size);
        return new VnRawWriter(_stream + _length);
    }

    /// <summary>Ends a fast-path command: one check that the encoder wrote what its Size said.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Commit(in VnRawWriter e, ulong size)
    {
        if ((ulong)(e.Position - (_stream + _length)) != size)
            ThrowSizeMismatch(size);
        _length += (int)size;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowSizeMismatch(ulong size) =>
        throw new InvalidOperationException($"a {size}-byte command: the generated size and encoder disagree");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(ulong size)
    {
        if (size > int.MaxValue / 2)
            throw new VulkanResultException(VkResult.VK_ERROR_OUT_OF_HOST_MEMORY, $"a {size}-byte command");
        if (_length > _chunkStart && _length - _chunkStart + (long)size > ChunkBytes)
        {
            if (_boundaryCount == _boundaries.Length)
                Array.Resize(ref _boundaries, _boundaries.Length * 2);
            _boundaries[_boundaryCount++] = _length;
            _chunkStart = _length;
        }
        long needed = (long)_length + (long)size;
        if (needed > _capacity)
        {
            long capacity = Math.Max(needed, Math.Max(16 * 1024, (long)_capacity * 2));
            byte* p = (byte*)NativeMemory.Realloc(_stream, (nuint)capacity);
            if (p == null)
                throw new OutOfMemoryException();
            _stream = p;
            _capacity = (int)capacity;
        }
    }

    /// <summary>
    /// Working memory for a command being recorded (e.g. push-descriptor writes built from a
    /// template), at least <paramref name="bytes"/> long; reused, so valid until the next call.
    /// Command buffers are externally synchronized, so one block per command buffer is enough.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Scratch(nuint bytes) => bytes <= _scratchBytes ? _scratch : GrowScratch(bytes);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private byte* GrowScratch(nuint bytes)
    {
        nuint size = Math.Max(bytes, Math.Max(4096, _scratchBytes * 2));
        byte* p = (byte*)NativeMemory.Realloc(_scratch, size);
        if (p == null)
            throw new OutOfMemoryException();
        _scratch = p;
        _scratchBytes = size;
        return p;
    }

    /// <summary>Records a failure of a void vkCmd*: logged once, returned by vkEndCommandBuffer.</summary>
    public void Fail(Exception e, string command)
    {
        VkResult r = Icd.Fail(e, command);
        if (RecordResult == VkResult.VK_SUCCESS)
            RecordResult = r;
    }

    /// <summary>Failure path of the generated vkCmd* exports; never throws.</summary>
    public static void FailSafe(ulong handle, Exception e, string command)
    {
        try
        {
            if (handle != 0 && From(handle) is CommandBuffer cb)
            {
                cb.Fail(e, command);
                return;
            }
        }
        catch
        {
        }
        Icd.FailVoid(e, command);
    }

    /// <summary>Forgets the recorded stream (begin, reset, pool reset).</summary>
    public void ResetStream()
    {
        _length = 0;
        _chunkStart = 0;
        _boundaryCount = 0;
        RecordResult = VkResult.VK_SUCCESS;
        if (_queryRecordCount != 0)
        {
            Array.Clear(_queryRecords, 0, _queryRecordCount);
            _queryRecordCount = 0;
        }
    }

    /// <summary>A query command on a pool with feedback (<see cref="QueryFeedback"/>), for vkEndCommandBuffer.</summary>
    public void AddQueryRecord(in QueryRecord record)
    {
        if (_queryRecordCount == _queryRecords.Length)
            Array.Resize(ref _queryRecords, Math.Max(8, _queryRecords.Length * 2));
        _queryRecords[_queryRecordCount++] = record;
    }

    /// <summary>The query commands noted since vkBeginCommandBuffer.</summary>
    public ReadOnlySpan<QueryRecord> QueryRecords => new(_queryRecords, 0, _queryRecordCount);

    /// <summary>Sends the recorded stream through the ring, chunk by chunk. Hold the ring lock.</summary>
    public void Flush(GuestRing ring)
    {
        int start = 0;
        for (int i = 0; i <= _boundaryCount; i++)
        {
            int end = i < _boundaryCount ? _boundaries[i] : _length;
            if (end > start)
                ring.Submit(new ReadOnlySpan<byte>(_stream + start, end - start));
            start = end;
        }
        ResetStream();
    }

    public void Free()
    {
        if (_stream != null)
        {
            NativeMemory.Free(_stream);
            _stream = null;
        }
        if (_scratch != null)
        {
            NativeMemory.Free(_scratch);
            _scratch = null;
        }
        _scratchBytes = 0;
        _capacity = _length = 0;
        ReleaseHandle();
    }
}
