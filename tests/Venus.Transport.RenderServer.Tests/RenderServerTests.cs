using System.Buffers.Binary;

namespace Venus.Transport.RenderServer.Tests;

/// <summary>
/// The render-server protocol of virglrenderer 1.1.0, driven packet by packet by our own stand-in for
/// libvirglrenderer (<see cref="FakeVmm"/>) against the real <see cref="RenderServer"/> and
/// <see cref="RenderContextConnection"/>, with a recording renderer behind them.
/// </summary>
public sealed class RenderServerTests
{
    internal static void WaitFor(Func<bool> condition, string what)
    {
        for (int i = 0; i < 1000 && !condition(); i++) Thread.Sleep(10);
        Assert.True(condition(), $"timed out waiting for {what}");
    }

    [Fact]
    public void CreateContextAnswersOkWithASeqpacketSocketAndDestroyEndsItWhenTheVmmCloses()
    {
        using var vmm = new FakeVmm();
        vmm.Init();
        using (var ctx = vmm.CreateContext(7, "vkcube"))
        {
            FakeContext r = vmm.Renderer(7);
            Assert.Equal("vkcube", r.Name);
            WaitFor(() => r.Calls.Contains("Init(4)"), "INIT");
            FakeVmm.Send(vmm.Main, FakeVmm.Packet(RenderProtocol.DestroyContextSize, (0, RenderProtocol.ClientOpDestroyContext, 4), (4, 7, 4)));
        }
        // The VMM closed its end, as libvirglrenderer does after DESTROY_CONTEXT: the renderer is disposed.
        Assert.True(vmm.Renderer(7).Disposed.Wait(10_000));
        // The id is free again.
        using var again = vmm.CreateContext(7, "again");
        WaitFor(() => vmm.Renderer(7).Name == "again", "the second context 7");
    }

    [Fact]
    public void MainSocketRefusesBadRequestsCleanlyAndGoesOn()
    {
        using var vmm = new FakeVmm();
        vmm.Init();
        using var first = vmm.CreateContext(1);
        Assert.False(vmm.TryCreateContext(1, "duplicate").Ok);
        Assert.Contains("CREATE_CONTEXT 1 (duplicate): that context is alive", vmm.LogText);

        // A short CREATE_CONTEXT is answered ok = false without an fd.
        FakeVmm.Send(vmm.Main, FakeVmm.Packet(12, (0, RenderProtocol.ClientOpCreateContext, 4), (4, 2, 4)));
        var (reply, fds) = FakeVmm.Receive(vmm.Main);
        Assert.Equal([0], reply);
        Assert.Empty(fds);
        // Unknown ops, odd sizes, stray fds, a 3-byte packet and a second INIT: logged, nothing answered.
        FakeVmm.Send(vmm.Main, FakeVmm.Packet(8, (0, 99, 4)));
        FakeVmm.Send(vmm.Main, FakeVmm.Packet(16, (0, RenderProtocol.ClientOpInit, 4)));
        FakeVmm.Send(vmm.Main, FakeVmm.Packet(8, (0, RenderProtocol.ClientOpDestroyContext, 4), (4, 42, 4)));
        int stray = Native.Memfd(16);
        FakeVmm.Send(vmm.Main, FakeVmm.Packet(4, (0, RenderProtocol.OpNop, 4)), stray);
        Native.Close(stray);
        FakeVmm.Send(vmm.Main, new byte[3]);
        vmm.Init();
        using var second = vmm.CreateContext(2);
        string log = vmm.LogText;
        Assert.Contains("refused: unknown main-socket op 99 (8 bytes)", log);
        Assert.Contains("refused: INIT of 16 bytes, expected 8", log);
        Assert.Contains("refused: DESTROY_CONTEXT of context 42, which is not alive", log);
        Assert.Contains("refused: 1 fds on a main-socket request", log);
        Assert.Contains("refused: a main-socket packet of 3 bytes", log);
        Assert.Contains("refused: a second INIT", log);
        WaitFor(() => vmm.Factory.Contexts.Count == 2, "two contexts");
    }

    [Fact]
    public void TheServerEndsWhenTheVmmClosesTheMainSocket()
    {
        var vmm = new FakeVmm();
        vmm.Dispose();
        Assert.True(vmm.ServerResult);
        Assert.Contains("the VMM closed the main socket", vmm.LogText);
    }

    [Fact]
    public void CreateResourceRepliesWithASealableMemfdOfExactlyTheBlobSize()
    {
        using var vmm = new FakeVmm();
        using var ctx = vmm.CreateContext(3);
        FakeVmm.Send(ctx.Socket, ctx.CreateResourceRequest(11, 0, 12288));
        var (reply, fds) = FakeVmm.Receive(ctx.Socket);
        Assert.Equal(RenderProtocol.CreateResourceReplySize, reply.Length);
        Assert.Equal((int)RenderFdType.Shm, BinaryPrimitives.ReadInt32LittleEndian(reply));
        Assert.Equal((uint)RenderMapInfo.Cached, BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)));
        int fd = Assert.Single(fds);
        try
        {
            // What libvirglrenderer does with an SHM reply: add seals, then check size and write seal.
            Assert.Equal(0, Native.Fcntl(fd, Native.FAddSeals, Native.SealSeal | Native.SealShrink | Native.SealGrow));
            Assert.Equal(0, Native.Fcntl(fd, Native.FGetSeals, 0) & Native.SealWrite);
            Assert.Equal(12288, RenderSocket.FileSize(fd));
        }
        finally { Native.Close(fd); }
        Assert.Contains("CreateResource(11, 0x0, 12288, 1)", vmm.Renderer(3).Calls);

        // The same id again, id 0 and a blob the renderer refuses: fd type INVALID and no fd; the context goes on.
        foreach (var request in new[] { ctx.CreateResourceRequest(11, 0, 4096), ctx.CreateResourceRequest(0, 0, 4096), ctx.CreateResourceRequest(12, FakeContext.RefusedBlobId, 4096) })
        {
            FakeVmm.Send(ctx.Socket, request);
            (reply, fds) = FakeVmm.Receive(ctx.Socket);
            Assert.Equal(-1, BinaryPrimitives.ReadInt32LittleEndian(reply));
            Assert.Empty(fds);
        }
        Assert.Contains("CREATE_RESOURCE 11 (blob_id 0x0, 4096 bytes, flags 0x1) refused: that resource exists", vmm.LogText);
        Assert.Contains("CREATE_RESOURCE 12 (blob_id 0xbad, 4096 bytes, flags 0x1) refused: no such memory", vmm.LogText);

        // Destroy: known ids reach the renderer once; unknown ones are logged and ignored.
        FakeVmm.Send(ctx.Socket, FakeVmm.Packet(8, (0, RenderProtocol.ContextOpDestroyResource, 4), (4, 11, 4)));
        FakeVmm.Send(ctx.Socket, FakeVmm.Packet(8, (0, RenderProtocol.ContextOpDestroyResource, 4), (4, 11, 4)));
        FakeVmm.Send(ctx.Socket, FakeVmm.Packet(8, (0, RenderProtocol.ContextOpDestroyResource, 4), (4, 99, 4)));
        ctx.Submit([1, 2, 3, 4]);
        WaitFor(() => vmm.Renderer(3).Calls.Contains("Submit(4)"), "the submit after the destroys");
        Assert.Single(vmm.Renderer(3).Calls, c => c == "DestroyResource(11)");
        Assert.Contains("DESTROY_RESOURCE of resource 99, which does not exist: ignored", vmm.LogText);
    }

    [Fact]
    public void ImportResourceTakesOneFdAndRegistersTheId()
    {
        using var vmm = new FakeVmm();
        using var ctx = vmm.CreateContext(4);
        int fd = Native.Memfd(8192);
        FakeVmm.Send(ctx.Socket, FakeVmm.Packet(RenderProtocol.ImportResourceSize, (0, RenderProtocol.ContextOpImportResource, 4), (4, 21, 4), (8, (ulong)RenderFdType.Shm, 4), (16, 8192, 8)), fd);
        Native.Close(fd);
        FakeVmm.Send(ctx.Socket, FakeVmm.Packet(8, (0, RenderProtocol.ContextOpDestroyResource, 4), (4, 21, 4)));
        FakeVmm.Send(ctx.Socket, FakeVmm.Packet(8, (0, RenderProtocol.ContextOpDestroyResource, 4), (4, 21, 4)));
        WaitFor(() => vmm.LogText.Contains("resource 21, which does not exist"), "the second destroy");
        Assert.Equal(["Init(4)", "ImportResource(21, Shm, 8192)", "DestroyResource(21)"], vmm.Renderer(4).Calls.ToArray());
    }

    [Theory]
    [InlineData(4)]
    [InlineData(256)]
    [InlineData(260)]
    [InlineData(100_000)] // about the most one SEQPACKET message carries with default socket buffers
    public void SubmitCmdArrivesWholeInlineAndSplit(int size)
    {
        using var vmm = new FakeVmm();
        using var ctx = vmm.CreateContext(5);
        var stream = new byte[size];
        new Random(size).NextBytes(stream);
        ctx.Submit(stream);
        ctx.Submit([9, 9, 9, 9, 9, 9, 9, 9]);
        FakeContext r = vmm.Renderer(5);
        WaitFor(() => r.Streams.Count == 2, "two submits");
        Assert.Equal(stream, r.Streams.ToArray()[0]);
        Assert.Equal(new byte[] { 9, 9, 9, 9, 9, 9, 9, 9 }, r.Streams.ToArray()[1]);
    }

    [Fact]
    public void FencesRetireByStoringTheSeqnoInTheShmemSlotOfTheirRing()
    {
        using var vmm = new FakeVmm(deferFences: true);
        using var ctx = vmm.CreateContext(6, eventFd: true);
        FakeContext r = vmm.Renderer(6);
        ctx.Fence(0, 1);
        ctx.Fence(3, 1);
        ctx.Fence(3, 2);
        ctx.Fence(63, 5);
        WaitFor(() => r.Fences.Count == 4, "four fences");
        Assert.Equal(0u, ctx.Seqno(3));
        Assert.False(Native.Readable(ctx.EventFd, 0));
        var fences = r.Fences.ToArray();
        fences[1].Retired();
        Assert.Equal(1u, ctx.Seqno(3));
        Assert.Equal(0u, ctx.Seqno(0));
        Assert.True(Native.Readable(ctx.EventFd, 1000), "the eventfd is written on retirement");
        fences[0].Retired();
        fences[3].Retired();
        fences[2].Retired();
        Assert.Equal(1u, ctx.Seqno(0));
        Assert.Equal(2u, ctx.Seqno(3));
        Assert.Equal(5u, ctx.Seqno(63));
        // Extra calls do nothing; nothing moves backwards.
        fences[1].Retired();
        Assert.Equal(2u, ctx.Seqno(3));
        for (uint ring = 0; ring < 64; ring++)
            if (ring is not (0 or 3 or 63)) Assert.Equal(0u, ctx.Seqno(ring));
    }

    [Fact]
    public void RetirementAfterTheContextEndedIsHarmless()
    {
        var vmm = new FakeVmm(deferFences: true);
        var ctx = vmm.CreateContext(8);
        ctx.Fence(2, 1);
        WaitFor(() => vmm.Renderer(8).Fences.Count == 1, "the fence");
        ctx.Dispose();
        Assert.True(vmm.Renderer(8).Disposed.Wait(10_000));
        vmm.Renderer(8).Fences.ToArray()[0].Retired();
        vmm.Dispose();
    }

    public static TheoryData<string, string> HostilePackets() => new()
    {
        { "unknown-op", "unknown op 77 (16 bytes)" },
        { "short-fence", "SUBMIT_FENCE: 12 bytes, expected 16" },
        { "fence-ring-64", "SUBMIT_FENCE on ring 64 (rings are 0..63)" },
        { "oversized-submit", "SUBMIT_CMD of 4097 bytes (the limit is 4096)" },
        { "split-submit-short-rest", "SUBMIT_CMD of 1000 bytes: its second packet has 10 bytes and 0 fds, expected 744 and none" },
        { "split-submit-long-rest", "SUBMIT_CMD of 1000 bytes: its second packet has 745+ bytes and 0 fds, expected 744 and none" },
        { "import-without-fd", "IMPORT_RESOURCE: 0 fds, expected 1" },
        { "import-opaque", "IMPORT_RESOURCE 5: fd type 1 (only dma-buf 0 and shm 2 travel)" },
        { "second-init", "a second INIT" },
        { "oversized-packet", "a packet larger than 264 bytes" },
        { "short-packet", "a packet of 2 bytes (no op)" },
    };

    /// <summary>Each malformed request ends its own context with one clear log line; the other context and the server go on.</summary>
    [Theory]
    [MemberData(nameof(HostilePackets))]
    public void AMalformedRequestEndsOnlyItsOwnContext(string kind, string logged)
    {
        using var vmm = new FakeVmm(maxSubmitBytes: 4096);
        using var bystander = vmm.CreateContext(1, "bystander");
        using var hostile = vmm.CreateContext(2, "hostile");
        int s = hostile.Socket;
        switch (kind)
        {
            case "unknown-op": FakeVmm.Send(s, FakeVmm.Packet(16, (0, 77, 4))); break;
            case "short-fence": FakeVmm.Send(s, FakeVmm.Packet(12, (0, RenderProtocol.ContextOpSubmitFence, 4))); break;
            case "fence-ring-64": hostile.Fence(64, 1); break;
            case "oversized-submit": FakeVmm.Send(s, FakeVmm.Packet(RenderProtocol.SubmitCmdSize, (0, RenderProtocol.ContextOpSubmitCmd, 4), (4, 4097, 4))); break;
            case "split-submit-short-rest":
                FakeVmm.Send(s, FakeVmm.Packet(RenderProtocol.SubmitCmdSize, (0, RenderProtocol.ContextOpSubmitCmd, 4), (4, 1000, 4)));
                FakeVmm.Send(s, new byte[10]);
                break;
            case "split-submit-long-rest":
                FakeVmm.Send(s, FakeVmm.Packet(RenderProtocol.SubmitCmdSize, (0, RenderProtocol.ContextOpSubmitCmd, 4), (4, 1000, 4)));
                FakeVmm.Send(s, new byte[2000]);
                break;
            case "import-without-fd": FakeVmm.Send(s, FakeVmm.Packet(RenderProtocol.ImportResourceSize, (0, RenderProtocol.ContextOpImportResource, 4), (4, 5, 4))); break;
            case "import-opaque":
                int fd = Native.Memfd(4096);
                FakeVmm.Send(s, FakeVmm.Packet(RenderProtocol.ImportResourceSize, (0, RenderProtocol.ContextOpImportResource, 4), (4, 5, 4), (8, 1, 4), (16, 4096, 8)), fd);
                Native.Close(fd);
                break;
            case "second-init": FakeVmm.Send(s, FakeVmm.Packet(RenderProtocol.ContextInitSize, (0, RenderProtocol.ContextOpInit, 4), (4, 4, 4), (8, 256, 8)), hostile.Shmem); break;
            case "oversized-packet": FakeVmm.Send(s, new byte[5000]); break;
            case "short-packet": FakeVmm.Send(s, [1, 0]); break;
        }
        Assert.True(FakeVmm.Closed(s), "the hostile context's socket was not closed");
        Assert.True(vmm.Renderer(2).Disposed.Wait(10_000));
        Assert.Contains($"render context 2 (hostile): ended: {logged}", vmm.LogText);

        // The bystander and the server go on.
        bystander.Submit([1, 2, 3, 4]);
        bystander.Fence(0, 1);
        WaitFor(() => bystander.Seqno(0) == 1, "the bystander's fence");
        using var third = vmm.CreateContext(3);
        Assert.False(vmm.Renderer(1).Disposed.IsSet);
    }

    [Fact]
    public void RequestsBeforeInitAndABadFenceShmemEndTheContext()
    {
        using var vmm = new FakeVmm();
        var (ok, fd) = vmm.TryCreateContext(9, "early");
        Assert.True(ok);
        FakeVmm.Send(fd, FakeVmm.Packet(RenderProtocol.SubmitFenceSize, (0, RenderProtocol.ContextOpSubmitFence, 4)));
        Assert.True(FakeVmm.Closed(fd));
        Native.Close(fd);
        Assert.Contains("render context 9 (early): ended: SUBMIT_FENCE before INIT", vmm.LogText);

        (ok, fd) = vmm.TryCreateContext(10, "tiny");
        int shmem = Native.Memfd(16);
        FakeVmm.Send(fd, FakeVmm.Packet(RenderProtocol.ContextInitSize, (0, RenderProtocol.ContextOpInit, 4), (4, 4, 4), (8, 256, 8)), shmem);
        Assert.True(FakeVmm.Closed(fd));
        Native.Close(fd);
        Native.Close(shmem);
        Assert.Contains("render context 10 (tiny): ended: INIT: the fence shmem fd holds 16 bytes, fewer than 256", vmm.LogText);
    }
}
