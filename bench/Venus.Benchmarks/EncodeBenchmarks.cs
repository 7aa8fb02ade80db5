using BenchmarkDotNet.Attributes;

namespace Venus.Benchmarks;

/// <summary>Guest side: Size + encode into a preallocated command stream (nothing allocated per call).</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Encode")]
public unsafe class EncodeBenchmarks
{
    Fixture _fx = null!;
    byte[] _stream = null!;

    /// <summary>The stream the last call wrote into (for <c>--verify</c>).</summary>
    public ReadOnlySpan<byte> Stream => _stream;

    [GlobalSetup]
    public void Setup()
    {
        _fx = new Fixture();
        _stream = new byte[64 * 1024];
    }

    [GlobalCleanup]
    public void Cleanup() => _fx.Dispose();

    [Benchmark]
    public int Encode_vkCmdDraw() => Calls.EncodeDraw(_stream, 0);

    [Benchmark(OperationsPerInvoke = Calls.BatchDraws)]
    public int Encode_vkCmdDraw_x1000() => Calls.EncodeDrawBatch(_stream);

    [Benchmark]
    public int Encode_vkCmdBindDescriptorSets() => Calls.EncodeBindDescriptorSets(_stream, _fx);

    [Benchmark]
    public int Encode_vkQueueSubmit() => Calls.EncodeQueueSubmit(_stream, _fx);

    [Benchmark]
    public int Encode_vkQueueSubmit_Chained() => Calls.EncodeQueueSubmitChained(_stream, _fx);
}
