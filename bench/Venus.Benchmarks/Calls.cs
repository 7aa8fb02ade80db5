using System.Runtime.CompilerServices;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.Benchmarks;

/// <summary>
/// The exact work each benchmark measures, shared with <c>--verify</c> so the round-trip check runs
/// the same code.
///
/// Guest side, as Mesa's vn_cs_encoder does it: ask the generated Size function how many bytes
/// the command takes, reserve that much at the write position of the command stream, encode into
/// the reservation. Host side, as virglrenderer's dispatcher does it: reset the per-command arena,
/// read the u32 command type and u32 flags, then call the command's body decoder with a handle
/// translator attached.
/// </summary>
public static unsafe class Calls
{
    public const uint DrawVertexCount = 3, DrawInstanceCount = 1, DrawFirstInstance = 0;
    public const int BatchDraws = 1000;
    public const VkPipelineBindPoint BindPoint = VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_GRAPHICS;
    public const uint FirstSet = 0;
    public const VkCommandFlagBitsEXT NoReply = 0;
    public const VkCommandFlagBitsEXT Reply = VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT;

    // ---- guest: encode ----------------------------------------------------------------------

    /// <summary>Records one vkCmdDraw at the start of <paramref name="stream"/>; returns the bytes used.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EncodeDraw(Span<byte> stream, uint firstVertex)
    {
        ulong size = vkCmdDraw.Size(Fixture.CommandBuffer, DrawVertexCount, DrawInstanceCount, firstVertex, DrawFirstInstance);
        var e = new VnEncoder(stream.Slice(0, (int)size));
        vkCmdDraw.Encode(ref e, NoReply, Fixture.CommandBuffer, DrawVertexCount, DrawInstanceCount, firstVertex, DrawFirstInstance);
        return e.Position;
    }

    /// <summary>Records <see cref="BatchDraws"/> vkCmdDraw back to back (firstVertex = 3·i); returns the bytes used.</summary>
    public static int EncodeDrawBatch(Span<byte> stream)
    {
        int pos = 0;
        for (uint i = 0; i < BatchDraws; i++)
            pos += EncodeDraw(stream.Slice(pos), i * DrawVertexCount);
        return pos;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EncodeBindDescriptorSets(Span<byte> stream, Fixture fx)
    {
        ulong size = vkCmdBindDescriptorSets.Size(Fixture.CommandBuffer, BindPoint, Fixture.PipelineLayout, FirstSet,
            Fixture.DescriptorSetCount, fx.DescriptorSets, Fixture.DynamicOffsetCount, fx.DynamicOffsets);
        var e = new VnEncoder(stream.Slice(0, (int)size));
        vkCmdBindDescriptorSets.Encode(ref e, NoReply, Fixture.CommandBuffer, BindPoint, Fixture.PipelineLayout, FirstSet,
            Fixture.DescriptorSetCount, fx.DescriptorSets, Fixture.DynamicOffsetCount, fx.DynamicOffsets);
        return e.Position;
    }

    /// <summary>The ICD benchmark's `record` pair (bench/clients/icdbench.c): vkCmdPushConstants (16 bytes) + vkCmdDispatch, checked encoder.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EncodePushConstantsDispatch(Span<byte> stream, Fixture fx)
    {
        ulong size = vkCmdPushConstants.Size(Fixture.CommandBuffer, Fixture.PipelineLayout, PushStages, 0, PushBytes, fx.PushValues);
        var e = new VnEncoder(stream.Slice(0, (int)size));
        vkCmdPushConstants.Encode(ref e, NoReply, Fixture.CommandBuffer, Fixture.PipelineLayout, PushStages, 0, PushBytes, fx.PushValues);
        int pos = e.Position;
        size = vkCmdDispatch.Size(Fixture.CommandBuffer, 1, 1, 1);
        e = new VnEncoder(stream.Slice(pos, (int)size));
        vkCmdDispatch.Encode(ref e, NoReply, Fixture.CommandBuffer, 1, 1, 1);
        return pos + e.Position;
    }

    public const uint PushStages = 0x20, PushBytes = 16; // VK_SHADER_STAGE_COMPUTE_BIT, 4 uints

    // ---- guest: the recording fast path (flat vkCmd*, VnRawWriter), as the ICD's exports do it ----

    /// <summary>vkCmdDraw: the constant Size, one reservation, unchecked writes; returns the bytes used.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RecordDraw(byte* stream, uint firstVertex)
    {
        ulong size = vkCmdDraw.Size(Fixture.CommandBuffer, DrawVertexCount, DrawInstanceCount, firstVertex, DrawFirstInstance);
        var e = new VnRawWriter(stream);
        vkCmdDraw.Encode(ref e, NoReply, Fixture.CommandBuffer, DrawVertexCount, DrawInstanceCount, firstVertex, DrawFirstInstance);
        return (int)size;
    }

    /// <summary>As <see cref="EncodeDrawBatch"/> over the fast path.</summary>
    public static int RecordDrawBatch(byte* stream)
    {
        int pos = 0;
        for (uint i = 0; i < BatchDraws; i++)
            pos += RecordDraw(stream + pos, i * DrawVertexCount);
        return pos;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RecordBindDescriptorSets(byte* stream, Fixture fx)
    {
        ulong size = vkCmdBindDescriptorSets.Size(Fixture.CommandBuffer, BindPoint, Fixture.PipelineLayout, FirstSet,
            Fixture.DescriptorSetCount, fx.DescriptorSets, Fixture.DynamicOffsetCount, fx.DynamicOffsets);
        var e = new VnRawWriter(stream);
        vkCmdBindDescriptorSets.Encode(ref e, NoReply, Fixture.CommandBuffer, BindPoint, Fixture.PipelineLayout, FirstSet,
            Fixture.DescriptorSetCount, fx.DescriptorSets, Fixture.DynamicOffsetCount, fx.DynamicOffsets);
        return (int)size;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RecordPushConstantsDispatch(byte* stream, Fixture fx)
    {
        ulong size = vkCmdPushConstants.Size(Fixture.CommandBuffer, Fixture.PipelineLayout, PushStages, 0, PushBytes, fx.PushValues);
        var e = new VnRawWriter(stream);
        vkCmdPushConstants.Encode(ref e, NoReply, Fixture.CommandBuffer, Fixture.PipelineLayout, PushStages, 0, PushBytes, fx.PushValues);
        size += vkCmdDispatch.Size(Fixture.CommandBuffer, 1, 1, 1);
        vkCmdDispatch.Encode(ref e, NoReply, Fixture.CommandBuffer, 1, 1, 1);
        return (int)size;
    }

    /// <summary>vkQueueSubmit is sent with GENERATE_REPLY (the synchronous call path), so the flags round-trip is visible.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EncodeQueueSubmit(Span<byte> stream, Fixture fx)
    {
        ulong size = vkQueueSubmit.Size(Fixture.Queue, 1, fx.Submit, Fixture.Fence);
        var e = new VnEncoder(stream.Slice(0, (int)size));
        vkQueueSubmit.Encode(ref e, Reply, Fixture.Queue, 1, fx.Submit, Fixture.Fence);
        return e.Position;
    }

    /// <summary>vkQueueSubmit as above with the submit's two-struct chain (<see cref="Fixture.ChainedSubmit"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EncodeQueueSubmitChained(Span<byte> stream, Fixture fx)
    {
        ulong size = vkQueueSubmit.Size(Fixture.Queue, 1, fx.ChainedSubmit, Fixture.Fence);
        var e = new VnEncoder(stream.Slice(0, (int)size));
        vkQueueSubmit.Encode(ref e, Reply, Fixture.Queue, 1, fx.ChainedSubmit, Fixture.Fence);
        return e.Position;
    }

    // ---- host: decode -----------------------------------------------------------------------

    /// <summary>Decodes one vkCmdDraw command; true when it decoded cleanly and used the whole input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool DecodeDraw(ReadOnlySpan<byte> cmd, VnArena arena, IVnHandleTranslator translator, vkCmdDraw.Args* a)
    {
        arena.Reset();
        var d = new VnDecoder(cmd, arena, translator);
        if (d.U32() != (uint)vkCmdDraw.Type) return false;
        d.U32(); // flags
        vkCmdDraw.Decode(ref d, a);
        return !d.Failed && d.AtEnd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool DecodeBindDescriptorSets(ReadOnlySpan<byte> cmd, VnArena arena, IVnHandleTranslator translator, vkCmdBindDescriptorSets.Args* a)
    {
        arena.Reset();
        var d = new VnDecoder(cmd, arena, translator);
        if (d.U32() != (uint)vkCmdBindDescriptorSets.Type) return false;
        d.U32();
        vkCmdBindDescriptorSets.Decode(ref d, a);
        return !d.Failed && d.AtEnd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool DecodeQueueSubmit(ReadOnlySpan<byte> cmd, VnArena arena, IVnHandleTranslator translator, vkQueueSubmit.Args* a, out uint flags)
    {
        arena.Reset();
        var d = new VnDecoder(cmd, arena, translator);
        flags = 0;
        if (d.U32() != (uint)vkQueueSubmit.Type) return false;
        flags = d.U32();
        vkQueueSubmit.Decode(ref d, a);
        return !d.Failed && d.AtEnd;
    }

    /// <summary>
    /// Host dispatch loop over a command stream: per command, reset the arena, read type and
    /// flags, switch on the type, decode. Returns the number of commands decoded (-1 on any
    /// failure) and the sum of their firstVertex in <paramref name="firstVertexSum"/>, which
    /// stands in for executing them.
    /// </summary>
    public static int DecodeDrawStream(ReadOnlySpan<byte> stream, VnArena arena, IVnHandleTranslator translator, vkCmdDraw.Args* last, out ulong firstVertexSum)
    {
        var d = new VnDecoder(stream, arena, translator);
        int n = 0;
        ulong sum = 0;
        while (!d.AtEnd)
        {
            arena.Reset();
            uint type = d.U32();
            d.U32(); // flags
            switch ((VkCommandTypeEXT)type)
            {
                case vkCmdDraw.Type:
                    vkCmdDraw.Decode(ref d, last);
                    sum += last->firstVertex;
                    break;
                default:
                    d.Fail(VnDecodeError.UnknownCommand);
                    break;
            }
            if (d.Failed) { firstVertexSum = sum; return -1; }
            n++;
        }
        firstVertexSum = sum;
        return n;
    }
}
