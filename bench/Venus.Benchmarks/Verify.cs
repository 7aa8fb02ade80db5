using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.Benchmarks;

/// <summary>
/// <c>--verify</c>: runs every benchmark's call once through the benchmark classes themselves,
/// decodes what the encoders wrote and checks every field (handles translated), checks that the
/// decoders reject what they must, and checks that the hot paths allocate no managed memory.
/// Exit code 0 = all passed. Takes well under a second.
/// </summary>
public static unsafe class Verify
{
    static int _passed, _failed;

    static void Check(bool ok, string what)
    {
        if (ok) _passed++;
        else { _failed++; Console.Error.WriteLine($"FAIL: {what}"); }
    }

    static ulong H(ulong id) => Fixture.HostHandle(id);

    public static int Run()
    {
        var enc = new EncodeBenchmarks();
        var dec = new DecodeBenchmarks();
        enc.Setup();
        dec.Setup();
        try
        {
            RoundTrips(enc, dec);
            FastPathBytes(enc);
            ChainedRoundTrip(enc, dec);
            Rejections(enc, dec);
            BenchmarkReturnValues(enc, dec);
            NoAllocations(enc, dec);
        }
        finally
        {
            enc.Cleanup();
            dec.Cleanup();
        }
        Console.WriteLine($"verify: {_passed} passed, {_failed} failed");
        return _failed == 0 ? 0 : 1;
    }

    static void RoundTrips(EncodeBenchmarks enc, DecodeBenchmarks dec)
    {
        var arena = dec.Arena;
        var table = dec.Table;
        var fx = dec.Inputs;

        // vkCmdDraw
        {
            int n = enc.Encode_vkCmdDraw();
            ulong size = vkCmdDraw.Size(Fixture.CommandBuffer, Calls.DrawVertexCount, Calls.DrawInstanceCount, 0, Calls.DrawFirstInstance);
            Check((ulong)n == size && n == 32, $"vkCmdDraw: Size {size}, written {n}, expected 32");
            var bytes = enc.Stream[..n].ToArray();
            vkCmdDraw.Args a;
            Check(Calls.DecodeDraw(bytes, arena, table, &a), "vkCmdDraw: decode");
            Check(a.commandBuffer == H(Fixture.CommandBuffer), "vkCmdDraw: commandBuffer translated");
            Check(a.vertexCount == Calls.DrawVertexCount && a.instanceCount == Calls.DrawInstanceCount
                  && a.firstVertex == 0 && a.firstInstance == Calls.DrawFirstInstance, "vkCmdDraw: scalars");
        }

        // vkCmdDraw x1000
        {
            int n = enc.Encode_vkCmdDraw_x1000();
            Check(n == 32 * Calls.BatchDraws, $"vkCmdDraw x1000: written {n}, expected {32 * Calls.BatchDraws}");
            var bytes = enc.Stream[..n].ToArray();
            vkCmdDraw.Args last;
            int count = Calls.DecodeDrawStream(bytes, arena, table, &last, out ulong sum);
            ulong expectedSum = 0;
            for (uint i = 0; i < Calls.BatchDraws; i++) expectedSum += i * Calls.DrawVertexCount;
            Check(count == Calls.BatchDraws, $"vkCmdDraw x1000: decoded {count} commands");
            Check(sum == expectedSum, $"vkCmdDraw x1000: firstVertex sum {sum}, expected {expectedSum}");
            Check(last.commandBuffer == H(Fixture.CommandBuffer) && last.firstVertex == (Calls.BatchDraws - 1) * Calls.DrawVertexCount,
                "vkCmdDraw x1000: last command");
            // Each record on its own, too.
            bool each = true;
            for (int i = 0; i < Calls.BatchDraws; i++)
            {
                vkCmdDraw.Args a;
                each &= Calls.DecodeDraw(bytes.AsSpan(i * 32, 32), arena, table, &a)
                        && a.firstVertex == (uint)i * Calls.DrawVertexCount && a.commandBuffer == H(Fixture.CommandBuffer);
            }
            Check(each, "vkCmdDraw x1000: every record decodes alone");
        }

        // vkCmdBindDescriptorSets
        {
            int n = enc.Encode_vkCmdBindDescriptorSets();
            ulong size = vkCmdBindDescriptorSets.Size(Fixture.CommandBuffer, Calls.BindPoint, Fixture.PipelineLayout, Calls.FirstSet,
                Fixture.DescriptorSetCount, fx.DescriptorSets, Fixture.DynamicOffsetCount, fx.DynamicOffsets);
            // header 8 + cb 8 + bindPoint 4 + layout 8 + firstSet 4 + count 4 + (8 + 4·8) + count 4 + (8 + 2·4)
            Check((ulong)n == size && n == 96, $"vkCmdBindDescriptorSets: Size {size}, written {n}, expected 96");
            var bytes = enc.Stream[..n].ToArray();
            vkCmdBindDescriptorSets.Args a;
            Check(Calls.DecodeBindDescriptorSets(bytes, arena, table, &a), "vkCmdBindDescriptorSets: decode");
            Check(a.commandBuffer == H(Fixture.CommandBuffer) && a.layout == H(Fixture.PipelineLayout), "vkCmdBindDescriptorSets: handles");
            Check(a.pipelineBindPoint == Calls.BindPoint && a.firstSet == Calls.FirstSet, "vkCmdBindDescriptorSets: scalars");
            bool sets = a.descriptorSetCount == Fixture.DescriptorSetCount && a.pDescriptorSets != null;
            for (uint i = 0; sets && i < Fixture.DescriptorSetCount; i++) sets &= a.pDescriptorSets[i] == H(Fixture.DescriptorSet0 + i);
            Check(sets, "vkCmdBindDescriptorSets: 4 descriptor sets translated");
            Check(a.dynamicOffsetCount == 2 && a.pDynamicOffsets != null && a.pDynamicOffsets[0] == 256 && a.pDynamicOffsets[1] == 1024,
                "vkCmdBindDescriptorSets: 2 dynamic offsets");
        }

        // vkQueueSubmit, with both translators
        {
            int n = enc.Encode_vkQueueSubmit();
            ulong size = vkQueueSubmit.Size(Fixture.Queue, 1, fx.Submit, Fixture.Fence);
            // header 8 + queue 8 + count 4 + array 8 + VkSubmitInfo (sType 4 + pNext 8 + 4 + (8+16) + (8+8) + 4 + (8+24) + 4 + (8+8)) + fence 8
            Check((ulong)n == size && n == 148, $"vkQueueSubmit: Size {size}, written {n}, expected 148");
            var bytes = enc.Stream[..n].ToArray();
            foreach (IVnHandleTranslator tr in new IVnHandleTranslator[] { dec.Table, dec.Dictionary })
            {
                string who = $"vkQueueSubmit ({tr.GetType().Name})";
                vkQueueSubmit.Args a;
                Check(Calls.DecodeQueueSubmit(bytes, arena, tr, &a, out uint flags), $"{who}: decode");
                Check(flags == (uint)Calls.Reply, $"{who}: flags");
                Check(a.queue == H(Fixture.Queue) && a.fence == H(Fixture.Fence), $"{who}: queue and fence");
                Check(a.submitCount == 1 && a.pSubmits != null, $"{who}: one submit");
                if (a.pSubmits == null) continue;
                VkSubmitInfo* s = a.pSubmits;
                Check(s->sType == VkSubmitInfo.SType && s->pNext == null, $"{who}: sType, pNext");
                Check(s->waitSemaphoreCount == 2 && s->pWaitSemaphores != null && s->pWaitDstStageMask != null
                      && s->pWaitSemaphores[0] == H(Fixture.WaitSemaphore0) && s->pWaitSemaphores[1] == H(Fixture.WaitSemaphore1)
                      && s->pWaitDstStageMask[0] == fx.WaitDstStageMask[0] && s->pWaitDstStageMask[1] == fx.WaitDstStageMask[1],
                    $"{who}: wait semaphores and stage masks");
                bool cbs = s->commandBufferCount == 3 && s->pCommandBuffers != null;
                for (uint i = 0; cbs && i < 3; i++) cbs &= s->pCommandBuffers[i] == H(Fixture.CommandBuffer + i);
                Check(cbs, $"{who}: 3 command buffers");
                Check(s->signalSemaphoreCount == 1 && s->pSignalSemaphores != null && s->pSignalSemaphores[0] == H(Fixture.SignalSemaphore),
                    $"{who}: signal semaphore");
            }
        }
    }

    /// <summary>vkQueueSubmit with the two-struct chain: the chain arrives in order with its values.</summary>
    static void ChainedRoundTrip(EncodeBenchmarks enc, DecodeBenchmarks dec)
    {
        var fx = dec.Inputs;
        int n = enc.Encode_vkQueueSubmit_Chained();
        ulong size = vkQueueSubmit.Size(Fixture.Queue, 1, fx.ChainedSubmit, Fixture.Fence);
        // 148 + timeline (ptr 8 + sType 4 + 4 + (8+16) + 4 + (8+8)) + protected (ptr 8 + sType 4 + 4)
        Check((ulong)n == size && n == 148 + 60 + 16, $"vkQueueSubmit chained: Size {size}, written {n}, expected 224");
        var bytes = enc.Stream[..n].ToArray();
        vkQueueSubmit.Args a;
        Check(Calls.DecodeQueueSubmit(bytes, dec.Arena, dec.Table, &a, out _), "vkQueueSubmit chained: decode");
        if (a.pSubmits == null) return;
        var t = (VkTimelineSemaphoreSubmitInfo*)a.pSubmits->pNext;
        Check(t != null && t->sType == VkTimelineSemaphoreSubmitInfo.SType && t->waitSemaphoreValueCount == 2
              && t->pWaitSemaphoreValues[0] == 41 && t->pWaitSemaphoreValues[1] == 42
              && t->signalSemaphoreValueCount == 1 && t->pSignalSemaphoreValues[0] == 43,
            "vkQueueSubmit chained: timeline values first in the chain");
        var p = t == null ? null : (VkProtectedSubmitInfo*)t->pNext;
        Check(p != null && p->sType == VkProtectedSubmitInfo.SType && p->protectedSubmit == 0 && p->pNext == null,
            "vkQueueSubmit chained: protected-submit info second, end of chain");
        Check(a.pSubmits->commandBufferCount == 3 && a.pSubmits->pCommandBuffers[2] == H(Fixture.CommandBuffer + 2),
            "vkQueueSubmit chained: the submit's own fields after the chain");
    }

    /// <summary>The translator and the bounds checks are really exercised: unknown ids, wrong types and truncation fail.</summary>
    static void Rejections(EncodeBenchmarks enc, DecodeBenchmarks dec)
    {
        var arena = dec.Arena;
        var fx = dec.Inputs;
        var empty = new OpenAddressingHandleTable(16);
        int n = enc.Encode_vkQueueSubmit();
        var submit = enc.Stream[..n].ToArray();

        vkQueueSubmit.Args a;
        Check(!Calls.DecodeQueueSubmit(submit, arena, empty, &a, out _), "vkQueueSubmit: unknown handles are rejected");

        // A table where the fence id names a semaphore: the type check must reject it.
        var wrongType = Fixture.BuildOpenAddressingTable();
        wrongType.Add(Fixture.Fence, Fixture.ObjSemaphore, H(Fixture.Fence));
        {
            arena.Reset();
            var d = new VnDecoder(submit, arena, wrongType);
            d.U32(); d.U32();
            vkQueueSubmit.Decode(ref d, &a);
            Check(d.Error == VnDecodeError.BadHandle, $"vkQueueSubmit: fence of the wrong object type is rejected (got {d.Error})");
        }
        {
            arena.Reset();
            var d = new VnDecoder(submit.AsSpan(0, n - 4), arena, dec.Table);
            d.U32(); d.U32();
            vkQueueSubmit.Decode(ref d, &a);
            Check(d.Error == VnDecodeError.Overrun, $"vkQueueSubmit: truncated input is an overrun (got {d.Error})");
        }
        {
            n = enc.Encode_vkCmdBindDescriptorSets();
            var bind = enc.Stream[..n].ToArray();
            bind[32] = 5; // descriptorSetCount (offset 8+8+4+8+4) 4 → 5, array size stays 4
            arena.Reset();
            var d = new VnDecoder(bind, arena, dec.Table);
            d.U32(); d.U32();
            vkCmdBindDescriptorSets.Args b;
            vkCmdBindDescriptorSets.Decode(ref d, &b);
            Check(d.Error == VnDecodeError.ArraySizeMismatch, $"vkCmdBindDescriptorSets: count/array size mismatch is rejected (got {d.Error})");
        }
    }

    /// <summary>The decode benchmarks return a value that shows they succeeded (0 would mean a failed decode).</summary>
    static void BenchmarkReturnValues(EncodeBenchmarks enc, DecodeBenchmarks dec)
    {
        Check(dec.Decode_vkCmdDraw() == H(Fixture.CommandBuffer), "Decode_vkCmdDraw returns the translated command buffer");
        ulong expectedSum = 0;
        for (uint i = 0; i < Calls.BatchDraws; i++) expectedSum += i * Calls.DrawVertexCount;
        Check(dec.Decode_vkCmdDraw_x1000() == expectedSum, "Decode_vkCmdDraw_x1000 decodes all 1000");
        Check(dec.Decode_vkCmdBindDescriptorSets() == H(Fixture.DescriptorSet0 + 3), "Decode_vkCmdBindDescriptorSets returns the 4th set");
        Check(dec.Decode_vkQueueSubmit() == H(Fixture.Fence), "Decode_vkQueueSubmit returns the fence");
        Check(dec.Decode_vkQueueSubmit_DictionaryTable() == H(Fixture.Fence), "Decode_vkQueueSubmit_DictionaryTable returns the fence");
        Check(dec.Decode_vkQueueSubmit_Chained() == H(Fixture.Fence), "Decode_vkQueueSubmit_Chained returns the fence");
        Check(enc.Encode_vkCmdDraw() == 32 && enc.Encode_vkCmdDraw_x1000() == 32000
              && enc.Encode_vkCmdBindDescriptorSets() == 96 && enc.Encode_vkQueueSubmit() == 148, "encode benchmarks return their sizes");
    }

    /// <summary>The recording fast path (VnRawWriter) writes byte for byte what the checked encoder writes.</summary>
    static void FastPathBytes(EncodeBenchmarks enc)
    {
        (string Name, Func<int> Checked, Func<int> Raw, int Expected)[] pairs =
        {
            ("vkCmdDraw", enc.Encode_vkCmdDraw, enc.Record_vkCmdDraw, 32),
            ("vkCmdDraw x1000", enc.Encode_vkCmdDraw_x1000, enc.Record_vkCmdDraw_x1000, 32 * Calls.BatchDraws),
            ("vkCmdBindDescriptorSets", enc.Encode_vkCmdBindDescriptorSets, enc.Record_vkCmdBindDescriptorSets, 96),
            // push constants: header 8 + cb 8 + layout 8 + 3·4 + (8 + 16); dispatch: 8 + 8 + 3·4
            ("vkCmdPushConstants + vkCmdDispatch", enc.Encode_vkCmdPushConstants_vkCmdDispatch, enc.Record_vkCmdPushConstants_vkCmdDispatch, 60 + 28),
        };
        foreach (var (name, chk, raw, expected) in pairs)
        {
            int n = chk(), m = raw();
            Check(n == expected && m == expected, $"{name}: checked wrote {n}, fast path {m}, expected {expected}");
            Check(enc.Stream[..n].SequenceEqual(enc.RawStream[..m]), $"{name}: fast path bytes equal the checked encoder's");
        }
    }

    /// <summary>Every benchmark body, warmed up, then run again while counting this thread's managed allocations.</summary>
    static void NoAllocations(EncodeBenchmarks enc, DecodeBenchmarks dec)
    {
        (string Name, Func<ulong> Body, int Reps)[] bodies =
        {
            ("Encode_vkCmdDraw", () => (ulong)enc.Encode_vkCmdDraw(), 1000),
            ("Encode_vkCmdDraw_x1000", () => (ulong)enc.Encode_vkCmdDraw_x1000(), 10),
            ("Encode_vkCmdBindDescriptorSets", () => (ulong)enc.Encode_vkCmdBindDescriptorSets(), 1000),
            ("Encode_vkCmdPushConstants_vkCmdDispatch", () => (ulong)enc.Encode_vkCmdPushConstants_vkCmdDispatch(), 1000),
            ("Record_vkCmdDraw", () => (ulong)enc.Record_vkCmdDraw(), 1000),
            ("Record_vkCmdDraw_x1000", () => (ulong)enc.Record_vkCmdDraw_x1000(), 10),
            ("Record_vkCmdBindDescriptorSets", () => (ulong)enc.Record_vkCmdBindDescriptorSets(), 1000),
            ("Record_vkCmdPushConstants_vkCmdDispatch", () => (ulong)enc.Record_vkCmdPushConstants_vkCmdDispatch(), 1000),
            ("Encode_vkQueueSubmit", () => (ulong)enc.Encode_vkQueueSubmit(), 1000),
            ("Encode_vkQueueSubmit_Chained", () => (ulong)enc.Encode_vkQueueSubmit_Chained(), 1000),
            ("Decode_vkCmdDraw", dec.Decode_vkCmdDraw, 1000),
            ("Decode_vkCmdDraw_x1000", dec.Decode_vkCmdDraw_x1000, 10),
            ("Decode_vkCmdBindDescriptorSets", dec.Decode_vkCmdBindDescriptorSets, 1000),
            ("Decode_vkQueueSubmit", dec.Decode_vkQueueSubmit, 1000),
            ("Decode_vkQueueSubmit_DictionaryTable", dec.Decode_vkQueueSubmit_DictionaryTable, 1000),
            ("Decode_vkQueueSubmit_Chained", dec.Decode_vkQueueSubmit_Chained, 1000),
        };
        foreach (var (name, body, reps) in bodies)
        {
            ulong sink = 0;
            for (int i = 0; i < reps; i++) sink += body();   // warm-up: static constructors, first JIT
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < reps; i++) sink += body();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Check(allocated == 0, $"{name}: {allocated} bytes allocated over {reps} calls (sink {sink})");
        }
    }
}
