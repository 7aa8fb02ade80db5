using Venus.Protocol.Tests.Generated;
using Venus.Protocol.Wire;

namespace Venus.Protocol.Tests;

/// <summary>
/// The host decodes hostile bytes: for every command, truncated, mutated and random streams must
/// end in a decode error (or a clean decode), never an exception, a read past the span, or an
/// allocation past the arena cap.
/// </summary>
public class HostileInputTests
{
    public static TheoryData<int> Commands() => RoundTripTests.Commands();

    static VnDecodeError Decode(int type, ReadOnlySpan<byte> body, VnArena arena, IVnHandleTranslator? translator = null)
    {
        arena.Reset();
        var d = new VnDecoder(body, arena, translator);
        RandomArgs.DecodeBody(type, ref d);
        Assert.True(d.Position <= body.Length);
        Assert.True(arena.BytesInUse <= arena.Cap);
        return d.Error;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryTruncationFails(int type)
    {
        using var arena = new VnArena(cap: 16 << 20);
        for (int seed = 0; seed < 4; seed++)
        {
            using var r = new TestRandom(seed + 1000 * type);
            byte[] full = RandomArgs.EncodeRandom(type, r);
            Assert.Equal(VnDecodeError.None, Decode(type, full.AsSpan(8), arena));
            for (int len = 8; len < full.Length; len++)
            {
                var err = Decode(type, full.AsSpan(8, len - 8), arena);
                Assert.True(err != VnDecodeError.None, $"{VenusProtocolInfo.CommandName(type)}: a body cut to {len - 8} of {full.Length - 8} bytes decoded without error");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void MutatedAndRandomStreamsNeverThrow(int type)
    {
        using var arena = new VnArena(cap: 16 << 20);
        var rng = new Random(type);
        for (int seed = 0; seed < 4; seed++)
        {
            using var r = new TestRandom(seed + 7 * type);
            byte[] full = RandomArgs.EncodeRandom(type, r);
            for (int i = 0; i < 150; i++)
            {
                var bad = (byte[])full.Clone();
                int edits = 1 + rng.Next(4);
                for (int k = 0; k < edits && bad.Length > 8; k++)
                {
                    int at = 8 + (rng.Next(bad.Length - 8) & ~3);
                    switch (rng.Next(5))
                    {
                        case 0: bad[at] ^= (byte)(1 << rng.Next(8)); break;
                        case 1: if (at + 8 <= bad.Length) BitConverter.TryWriteBytes(bad.AsSpan(at), ulong.MaxValue - (ulong)rng.Next(16)); break;
                        case 2: if (at + 8 <= bad.Length) BitConverter.TryWriteBytes(bad.AsSpan(at), (ulong)rng.Next(1 << 20)); break;
                        case 3: if (at + 4 <= bad.Length) BitConverter.TryWriteBytes(bad.AsSpan(at), rng.Next()); break;
                        default: if (at + 4 <= bad.Length) BitConverter.TryWriteBytes(bad.AsSpan(at), 1); break;
                    }
                }
                Decode(type, bad.AsSpan(8), arena);
            }
            for (int i = 0; i < 50; i++)
            {
                var junk = new byte[rng.Next(0, 512)];
                rng.NextBytes(junk);
                Decode(type, junk, arena);
            }
        }
    }

    sealed class RejectEveryHandle : IVnHandleTranslator
    {
        public int Calls;
        public bool TryTranslate(ulong id, int objectType, out ulong handle) { Calls++; handle = 0; return false; }
    }

    sealed class WrongTypeTable : IVnHandleTranslator
    {
        // Knows every id, but as an object of type VK_OBJECT_TYPE_UNKNOWN (0): every typed lookup must fail.
        public bool TryTranslate(ulong id, int objectType, out ulong handle) { handle = id; return objectType == 0; }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void UnknownOrMistypedObjectIdsFailTheDecode(int type)
    {
        using var arena = new VnArena(cap: 16 << 20);
        for (int seed = 0; seed < 4; seed++)
        {
            using var r = new TestRandom(seed + 31 * type);
            byte[] full = RandomArgs.EncodeRandom(type, r);
            var reject = new RejectEveryHandle();
            var err = Decode(type, full.AsSpan(8), arena, reject);
            // If any input handle was looked up, the decode must have failed on it.
            Assert.True(reject.Calls == 0 ? err == VnDecodeError.None : err == VnDecodeError.BadHandle,
                $"{VenusProtocolInfo.CommandName(type)}: {reject.Calls} lookups, error {err}");
            var err2 = Decode(type, full.AsSpan(8), arena, new WrongTypeTable());
            Assert.True(err2 is VnDecodeError.None or VnDecodeError.BadHandle);
            if (reject.Calls > 0) Assert.Equal(VnDecodeError.BadHandle, err2);
        }
    }

    [Fact]
    public unsafe void HugeArraySizesAreRefusedBeforeAllocating()
    {
        // vkCmdDraw's neighbour vkCmdBindVertexBuffers: claim 2^40 buffers in a 64-byte stream.
        var body = new byte[64];
        BitConverter.TryWriteBytes(body.AsSpan(0), 1UL);        // commandBuffer
        BitConverter.TryWriteBytes(body.AsSpan(8), 0u);         // firstBinding
        BitConverter.TryWriteBytes(body.AsSpan(12), 1u << 30);  // bindingCount
        BitConverter.TryWriteBytes(body.AsSpan(16), 1UL << 40); // pBuffers array size
        using var arena = new VnArena(cap: 1 << 20);
        var err = Decode((int)Venus.Protocol.Commands.vkCmdBindVertexBuffers.Type, body, arena);
        Assert.NotEqual(VnDecodeError.None, err);
        Assert.Equal(0UL, arena.BytesInUse);
    }

    [Fact]
    public unsafe void LongPNextChainsAreCutOff()
    {
        // vkCreateFence with a chain of 1000 VkExportFenceCreateInfo elements: refused at VkFenceCreateInfo's
        // chain limit (each struct its chain knows, once), decoded without recursion (LongChainTests has
        // the longest valid chains and the refusals on a small stack).
        var w = new List<byte>();
        void U32(uint v) => w.AddRange(BitConverter.GetBytes(v));
        void U64(ulong v) => w.AddRange(BitConverter.GetBytes(v));
        U64(1);       // device
        U64(1);       // pCreateInfo present
        U32(8);       // VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        int headers = w.Count;
        for (int i = 0; i < 1000; i++) { U64(1); U32(1000113000); } // VK_STRUCTURE_TYPE_EXPORT_FENCE_CREATE_INFO
        using var arena = new VnArena();
        arena.Reset();
        var d = new VnDecoder(w.ToArray(), arena);
        Venus.Protocol.Commands.vkCreateFence.Args a;
        Venus.Protocol.Commands.vkCreateFence.Decode(ref d, &a);
        Assert.Equal(VnDecodeError.ChainTooLong, d.Error);
        // Refused at the element one past the limit, before reading further.
        int limit = Venus.Protocol.Wire.VkFenceCreateInfoWire.ChainLimit;
        Assert.Equal(headers + 12 * (limit + 1), d.ErrorPosition);
    }
}
