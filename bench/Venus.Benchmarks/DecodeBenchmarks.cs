using BenchmarkDotNet.Attributes;
using Venus.Protocol.Commands;
using Venus.Protocol.Wire;

namespace Venus.Benchmarks;

/// <summary>
/// Host side: decode pre-encoded commands with the arena reset per command and every handle
/// resolved through <see cref="OpenAddressingHandleTable"/> (4096 live objects, 8192 slots).
/// One extra case runs vkQueueSubmit through <see cref="DictionaryHandleTable"/> for comparison.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Decode")]
public unsafe class DecodeBenchmarks
{
    Fixture _fx = null!;
    VnArena _arena = null!;
    OpenAddressingHandleTable _table = null!;
    DictionaryHandleTable _dict = null!;
    byte[] _draw = null!, _drawBatch = null!, _bind = null!, _submit = null!, _submitChained = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fx = new Fixture();
        _arena = new VnArena();
        _table = Fixture.BuildOpenAddressingTable();
        _dict = Fixture.BuildDictionaryTable();
        var buf = new byte[64 * 1024];
        _draw = buf.AsSpan(0, Calls.EncodeDraw(buf, 0)).ToArray();
        _drawBatch = buf.AsSpan(0, Calls.EncodeDrawBatch(buf)).ToArray();
        _bind = buf.AsSpan(0, Calls.EncodeBindDescriptorSets(buf, _fx)).ToArray();
        _submit = buf.AsSpan(0, Calls.EncodeQueueSubmit(buf, _fx)).ToArray();
        _submitChained = buf.AsSpan(0, Calls.EncodeQueueSubmitChained(buf, _fx)).ToArray();
        // Warm the arena's first block so the measured calls never hit NativeMemory.
        _arena.Alloc(1);
        _arena.Reset();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _arena.Dispose();
        _fx.Dispose();
    }

    [Benchmark]
    public ulong Decode_vkCmdDraw()
    {
        vkCmdDraw.Args a;
        return Calls.DecodeDraw(_draw, _arena, _table, &a) ? a.commandBuffer : 0;
    }

    [Benchmark(OperationsPerInvoke = Calls.BatchDraws)]
    public ulong Decode_vkCmdDraw_x1000()
    {
        vkCmdDraw.Args a;
        return Calls.DecodeDrawStream(_drawBatch, _arena, _table, &a, out ulong sum) == Calls.BatchDraws ? sum : 0;
    }

    [Benchmark]
    public ulong Decode_vkCmdBindDescriptorSets()
    {
        vkCmdBindDescriptorSets.Args a;
        return Calls.DecodeBindDescriptorSets(_bind, _arena, _table, &a) ? a.pDescriptorSets[3] : 0;
    }

    [Benchmark]
    public ulong Decode_vkQueueSubmit()
    {
        vkQueueSubmit.Args a;
        return Calls.DecodeQueueSubmit(_submit, _arena, _table, &a, out _) ? a.fence : 0;
    }

    [Benchmark]
    public ulong Decode_vkQueueSubmit_DictionaryTable()
    {
        vkQueueSubmit.Args a;
        return Calls.DecodeQueueSubmit(_submit, _arena, _dict, &a, out _) ? a.fence : 0;
    }

    [Benchmark]
    public ulong Decode_vkQueueSubmit_Chained()
    {
        vkQueueSubmit.Args a;
        return Calls.DecodeQueueSubmit(_submitChained, _arena, _table, &a, out _) ? a.fence : 0;
    }

    // For --verify.
    internal VnArena Arena => _arena;
    internal OpenAddressingHandleTable Table => _table;
    internal DictionaryHandleTable Dictionary => _dict;
    internal Fixture Inputs => _fx;
}
