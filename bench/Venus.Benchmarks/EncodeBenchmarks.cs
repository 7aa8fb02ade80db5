using BenchmarkDotNet.Attributes;

namespace Venus.Benchmarks;

/// <summary>Guest side: Size + encode into a preallocated command stream (nothing allocated per call).</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Encode")]
public unsafe class EncodeBenchmarks
{
    Fixture _fx = null!;
    byte[] _stream = null!;
    byte* _raw;

    /// <summary>The stream the last call wrote into (for <c>--verify</c>).</summary>
    public ReadOnlySpan<byte> Stream => _stream;
    /// <summary>The native stream the last Record_* call wrote into (for <c>--verify</c>).</summary>
    public ReadOnlySpan<byte> RawStream => new(_raw, 64 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        _fx = new Fixture();
        _stream = new byte[64 * 1024];
        _raw = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(64 * 1024);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fx.Dispose();
        System.Runtime.InteropServices.NativeMemory.Free(_raw);
        _raw = null;
    }

    [Benchmark]
    public int Encode_vkCmdDraw() => Calls.EncodeDraw(_stream, 0);

    [Benchmark(OperationsPerInvoke = Calls.BatchDraws)]
    public int Encode_vkCmdDraw_x1000() => Calls.EncodeDrawBatch(_stream);

    [Benchmark]
    public int Encode_vkCmdBindDescriptorSets() => Calls.EncodeBindDescriptorSets(_stream, _fx);

    [Benchmark]
    public int Encode_vkCmdPushConstants_vkCmdDispatch() => Calls.EncodePushConstantsDispatch(_stream, _fx);

    // The recording fast path the ICD's flat vkCmd* exports use (VnRawWriter): same bytes, checked once per command.
    [Benchmark]
    public int Record_vkCmdDraw() => Calls.RecordDraw(_raw, 0);

    [Benchmark(OperationsPerInvoke = Calls.BatchDraws)]
    public int Record_vkCmdDraw_x1000() => Calls.RecordDrawBatch(_raw);

    [Benchmark]
    public int Record_vkCmdBindDescriptorSets() => Calls.RecordBindDescriptorSets(_raw, _fx);

    [Benchmark]
    public int Record_vkCmdPushConstants_vkCmdDispatch() => Calls.RecordPushConstantsDispatch(_raw, _fx);

    [Benchmark]
    public int Encode_vkQueueSubmit() => Calls.EncodeQueueSubmit(_stream, _fx);

    [Benchmark]
    public int Encode_vkQueueSubmit_Chained() => Calls.EncodeQueueSubmitChained(_stream, _fx);
}
