using System.Runtime.InteropServices;
using Venus.Protocol;
using Venus.Transport.Vtest;
using Venus.Transport.Vtest.Server;
using Xunit.Abstractions;

namespace Venus.Transport.Tests;

/// <summary>The server driven by the existing <see cref="VtestClient"/> (Mesa's message sequence) and by raw bytes.</summary>
public sealed class VtestServerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private static byte[] Stream(params uint[] dwords) => MemoryMarshal.AsBytes(dwords.AsSpan()).ToArray();

    [Fact]
    public void HandshakeCapsetContextInitBlobAndUnref()
    {
        using var server = new TestServer();
        using var client = VtestClient.Connect(server.SocketPath, "handshake-test");
        Assert.Equal(3u, client.ProtocolVersion);
        Assert.Equal(64u, client.MaxTimelineCount);

        VenusCapset capset = client.GetCapset();
        Assert.True(VenusCapset.TryParse(FakeRenderer.CapsetBytes, out VenusCapset expected, out _));
        Assert.Equal(expected, capset);

        client.ContextInit();
        using (VtestBlob blob = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 131268, 0))
        {
            FakeRenderer renderer = server.Factory.ByName("handshake-test");
            VtestSharedMemory hostView = renderer.Blob(blob.ResourceId);
            Assert.Equal(131268ul, hostView.Size);

            // Guest writes, host reads the same memfd; and back.
            "guest"u8.CopyTo(blob.Span);
            "tail"u8.CopyTo(blob.Span[^4..]);
            Assert.True(hostView.Span[..5].SequenceEqual("guest"u8));
            Assert.True(hostView.Span[^4..].SequenceEqual("tail"u8));
            "host"u8.CopyTo(hostView.Span[64..]);
            Assert.True(blob.Span.Slice(64, 4).SequenceEqual("host"u8));
        }

        FakeRenderer r = server.Factory.ByName("handshake-test");
        Assert.True(Wait.Until(() => r.Calls.Contains("ResourceUnref(1)"), Long), string.Join(", ", r.Calls));
        Assert.Equal(
            ["GetCapset(4, 0)", "ContextInit(4)", "CreateBlob(Host3D, Mappable, 131268, 0)", "ResourceUnref(1)"],
            r.Calls);
        Assert.Equal(0, r.LiveBlobCount);
        server.WaitForLog("vtest client", "'handshake-test' connected");

        client.Dispose();
        server.WaitForLog("'handshake-test' disconnected");
        // The end is logged before the teardown (a worker may be killed during a slow one).
        Assert.True(Wait.Until(() => r.DisposeCount == 1, TimeSpan.FromSeconds(10)), $"renderer disposed {r.DisposeCount} times");
    }

    [Theory]
    [InlineData(false, 0u)]
    [InlineData(true, 1u)]
    public void SharesHostVisibleMemoryIsAnsweredOnlyWhereTheServerSaysSo(bool shares, uint expected)
    {
        using var server = new TestServer(options: new VtestServerOptions { SharesHostVisibleMemory = shares });
        using var client = VtestClient.Connect(server.SocketPath, "param-test");
        Assert.Equal(expected, client.GetParameter(VtestParam.SharesHostVisibleMemory));
        Assert.Equal(64u, client.GetParameter(VtestParam.MaxTimelineCount));
        Assert.Equal(0u, client.GetParameter((VtestParam)0x7777)); // unknown: not valid, connection goes on
        client.GetCapset();
    }

    [Fact]
    public void UnsupportedCapsetIsValidZero()
    {
        using var server = new TestServer();
        using var raw = RawClient.Connect(server.SocketPath);
        raw.Handshake("capset-test", contextInit: false);
        raw.Message(VtestCommand.GetCapset, 4, 1);
        Assert.Equal<uint>([0], raw.ReadReply(VtestCommand.GetCapset));
        raw.Message(VtestCommand.GetCapset, 2, 0);
        Assert.Equal<uint>([0], raw.ReadReply(VtestCommand.GetCapset));
        raw.Message(VtestCommand.GetCapset, 4, 0);
        uint[] reply = raw.ReadReply(VtestCommand.GetCapset);
        Assert.Equal(1 + VenusCapset.Size / 4, reply.Length);
        Assert.Equal(1u, reply[0]);
        Assert.Equal(FakeRenderer.CapsetBytes, MemoryMarshal.AsBytes(reply.AsSpan(1)).ToArray());
        // Unknown GET_PARAM: valid 0; RESOURCE_BUSY_WAIT probe: not busy; CONTEXT_INIT twice with 4 is fine.
        raw.Message(VtestCommand.GetParam, 2);
        Assert.Equal<uint>([0, 0], raw.ReadReply(VtestCommand.GetParam));
        raw.Message(VtestCommand.ContextInit, 4);
        raw.Message(VtestCommand.ContextInit, 4);
        raw.Message(VtestCommand.ResourceBusyWait, 5, 1);
        Assert.Equal<uint>([0], raw.ReadReply(VtestCommand.ResourceBusyWait));
        raw.Message(VtestCommand.PingProtocolVersion);
        Assert.Equal<uint>([], raw.ReadReply(VtestCommand.PingProtocolVersion));
        Assert.Equal(["GetCapset(4, 1)", "GetCapset(2, 0)", "GetCapset(4, 0)", "ContextInit(4)"],
            server.Factory.ByName("capset-test").Calls);
    }

    [Fact]
    public void ProtocolVersionIsMinOfClientAnd3()
    {
        using var server = new TestServer();
        using var raw = RawClient.Connect(server.SocketPath);
        raw.CreateRenderer("version-test");
        raw.Message(VtestCommand.ProtocolVersion, 7);
        Assert.Equal<uint>([3], raw.ReadReply(VtestCommand.ProtocolVersion));
        raw.Message(VtestCommand.ProtocolVersion, 2);
        Assert.Equal<uint>([2], raw.ReadReply(VtestCommand.ProtocolVersion));
        raw.Message(VtestCommand.ProtocolVersion, 1);
        Assert.Equal<uint>([0], raw.ReadReply(VtestCommand.ProtocolVersion));
        // Version 0 cannot make a venus context.
        raw.Message(VtestCommand.ContextInit, 4);
        Assert.True(raw.WaitClosedByServer(Long));
        server.WaitForLog("'version-test' dropped:", "protocol version 3");
    }

    [Fact]
    public void SubmitReachesTheRendererAndRing0SyncsSignalOnRetire()
    {
        using var server = new TestServer(new FakeRendererFactory(RetireMode.Immediately));
        using var client = VtestClient.Connect(server.SocketPath, "submit-ring0");
        client.ContextInit();
        uint sync = client.SyncCreate(0);
        Assert.Equal(0ul, client.SyncRead(sync));

        byte[] stream = Stream(1, 2, 3, 0xCAFEF00D);
        client.SubmitCommands(stream, 0, [(sync, 7)]);
        Assert.True(client.SyncWait(sync, 7, Long));
        Assert.Equal(7ul, client.SyncRead(sync));

        SubmitRecord submit = Assert.Single(server.Factory.ByName("submit-ring0").Submits);
        Assert.Equal(stream, submit.Stream);
        Assert.Equal(0u, submit.RingIdx);

        // An empty stream and a submission without syncs reach the renderer too.
        client.SubmitCommands([], 5);
        client.SubmitCommands(Stream(9), 63);
        client.SyncWrite(sync, 8); // a round trip: the submissions before it were processed
        Assert.Equal(8ul, client.SyncRead(sync));
        SubmitRecord[] submits = server.Factory.ByName("submit-ring0").Submits;
        Assert.Equal(3, submits.Length);
        Assert.Empty(submits[1].Stream);
        Assert.Equal(5u, submits[1].RingIdx);
        Assert.Equal(Stream(9), submits[2].Stream);
        Assert.Equal(63u, submits[2].RingIdx);
    }

    [Fact]
    public void DeviceRingSyncsSignalOnlyWhenTheRendererRetires()
    {
        var factory = new FakeRendererFactory(RetireMode.Deferred);
        using var server = new TestServer(factory);
        using var client = VtestClient.Connect(server.SocketPath, "submit-deferred");
        client.ContextInit();
        uint a = client.SyncCreate(0);
        uint b = client.SyncCreate(0);

        client.SubmitCommands(Stream(1), 3, [(a, 5)]);
        client.SubmitCommands(Stream(2), 3, [(b, 6)]);
        client.SubmitCommands(Stream(3), 4, [(a, 100)]);
        Assert.False(client.SyncWait(a, 5, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(0ul, client.SyncRead(a));
        Assert.Equal(0ul, client.SyncRead(b));

        FakeRenderer renderer = factory.ByName("submit-deferred");
        Assert.Equal([3u, 3u, 4u], renderer.Submits.Select(s => s.RingIdx));

        // A wait that is pending when the retire comes (from another thread) wakes up.
        bool waited = false;
        var waiter = new Thread(() => waited = client.SyncWait([(a, 5), (b, 6)], Long));
        waiter.Start();
        Thread.Sleep(50);
        // Retiring the second batch of ring 3 retires the first too (timeline order).
        renderer.RetireAt(1);
        Assert.True(waiter.Join(Long));
        Assert.True(waited);
        Assert.Equal(5ul, client.SyncRead(a));
        Assert.Equal(6ul, client.SyncRead(b));

        // Retiring the first again is ignored; ring 4 is independent.
        renderer.RetireAt(0);
        Assert.Equal(5ul, client.SyncRead(a));
        renderer.RetireAt(2);
        Assert.True(client.SyncWait(a, 100, Long));
        Assert.Equal(100ul, client.SyncRead(a));
    }

    [Fact]
    public void WithoutRingIdxSyncsSignalRightAfterSubmit()
    {
        var factory = new FakeRendererFactory(RetireMode.Deferred);
        using var server = new TestServer(factory);
        using var raw = RawClient.Connect(server.SocketPath);
        raw.Handshake("no-ring-idx");
        raw.Message(VtestCommand.SyncCreate, 0, 0);
        uint sync = raw.ReadReply(VtestCommand.SyncCreate)[0];
        // batch_count 1; flags 0, cmd at 7 size 2, syncs at 9 count 1, ring 2; stream; (sync, 0x1_0000_0002)
        raw.Message(VtestCommand.SubmitCmd2, 1, 0, 7, 2, 9, 1, 2, 0xAAAA, 0xBBBB, sync, 2, 1);
        raw.Message(VtestCommand.SyncRead, sync);
        Assert.Equal<uint>([2, 1], raw.ReadReply(VtestCommand.SyncRead));
        SubmitRecord submit = Assert.Single(factory.ByName("no-ring-idx").Submits);
        Assert.Equal(Stream(0xAAAA, 0xBBBB), submit.Stream);
        Assert.Equal(2u, submit.RingIdx);
        submit.Retired(); // ignored
        raw.Message(VtestCommand.SyncRead, sync);
        Assert.Equal<uint>([2, 1], raw.ReadReply(VtestCommand.SyncRead));
    }

    [Fact]
    public void SyncWaitAnyAllTimeoutAndWrite()
    {
        using var server = new TestServer();
        using var client = VtestClient.Connect(server.SocketPath, "sync-wait");
        client.ContextInit();
        uint a = client.SyncCreate(1);
        uint b = client.SyncCreate(0);

        Assert.True(client.SyncWait(a, 1, TimeSpan.Zero));       // already reached
        Assert.False(client.SyncWait(b, 1, TimeSpan.Zero));      // timeout 0: not watched at all
        Assert.False(client.SyncWait([(a, 1), (b, 1)], TimeSpan.FromMilliseconds(50)));
        Assert.True(client.SyncWait([(a, 1), (b, 1)], TimeSpan.FromMilliseconds(50), waitAny: true));

        // A SYNC_WRITE from another connection's thread of the same client wakes a pending wait.
        bool result = false;
        var waiter = new Thread(() => result = client.SyncWait([(a, 3), (b, 2)], Timeout.InfiniteTimeSpan));
        waiter.Start();
        Thread.Sleep(50);
        client.SyncWrite(a, 3);
        Thread.Sleep(20);
        Assert.True(waiter.IsAlive);
        client.SyncWrite(b, 2);
        Assert.True(waiter.Join(Long));
        Assert.True(result);

        // A lower value is stored (virglrenderer does); unref'd ids are gone.
        client.SyncWrite(a, 1);
        Assert.Equal(1ul, client.SyncRead(a));
        client.SyncUnref(a);
        client.SyncUnref(a); // unknown: ignored
        Assert.Equal(2ul, client.SyncRead(b));
        var error = Assert.Throws<VtestException>(() => client.SyncRead(a));
        Assert.Equal(VtestErrorKind.ConnectionClosed, error.Kind);
        server.WaitForLog("'sync-wait' dropped:", $"SYNC_READ of unknown sync id {a}");
    }

    [Fact]
    public void ManyClientsAtOnceAreIsolated()
    {
        const int Clients = 8;
        const int Submits = 40;
        var factory = new FakeRendererFactory(RetireMode.Immediately);
        using var server = new TestServer(factory);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, Clients).Select(n => new Thread(() =>
        {
            try
            {
                using var client = VtestClient.Connect(server.SocketPath, $"many-{n}");
                client.GetCapset();
                client.ContextInit();
                using VtestBlob blob = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0);
                blob.Span.Fill((byte)(n + 1));
                uint sync = client.SyncCreate(0);
                for (uint i = 1; i <= Submits; i++)
                {
                    client.SubmitCommands(Stream((uint)n, i), (uint)(n % 4), [(sync, i)]);
                    Assert.True(client.SyncWait(sync, i, Long));
                }
                Assert.Equal((ulong)Submits, client.SyncRead(sync));

                FakeRenderer renderer = factory.ByName($"many-{n}");
                Assert.True(renderer.Blob(blob.ResourceId).Span.IndexOfAnyExcept((byte)(n + 1)) < 0);
                SubmitRecord[] submits = renderer.Submits;
                Assert.Equal(Submits, submits.Length);
                for (int i = 0; i < Submits; i++)
                {
                    Assert.Equal(Stream((uint)n, (uint)i + 1), submits[i].Stream);
                    Assert.Equal((uint)(n % 4), submits[i].RingIdx);
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })).ToArray();
        foreach (Thread t in threads)
            t.Start();
        foreach (Thread t in threads)
            Assert.True(t.Join(TimeSpan.FromSeconds(60)));
        Assert.Empty(errors);
        server.WaitForNoClients();
        Assert.Equal(Clients, factory.Created.Length);
        Assert.All(factory.Created, r => Assert.Equal(1, r.DisposeCount));
        Assert.All(factory.Created, r => Assert.Equal(0, r.LiveBlobCount));
        Assert.Equal(Clients, server.Server.AcceptedCount);
    }

    [Fact]
    public void DisposingTheServerDisconnectsClientsAndRemovesTheSocket()
    {
        var server = new TestServer();
        var client = VtestClient.Connect(server.SocketPath, "at-shutdown");
        client.ContextInit();
        uint sync = client.SyncCreate(0);
        server.Dispose();
        Assert.False(File.Exists(server.SocketPath));
        Assert.Equal(1, server.Factory.ByName("at-shutdown").DisposeCount);
        var error = Assert.Throws<VtestException>(() => client.SyncRead(sync));
        output.WriteLine(error.Message);
        client.Dispose();
        server.Dispose(); // twice is fine
    }

    [Fact]
    public void StaleSocketIsReplacedLiveServerAndOtherFilesAreNot()
    {
        string path = TestServer.NewSocketPath();
        // A socket file nobody listens on any more (what a killed server leaves behind; .NET's
        // Socket would delete its file on dispose, so bind and close through libc).
        TestLibc.BindAndClose(path);
        Assert.True(File.Exists(path));

        var factory = new FakeRendererFactory();
        using (VtestServer server = VtestServer.Start(path, factory, new VtestServerOptions { Log = _ => { } }))
        {
            using (var client = VtestClient.Connect(path, "after-stale"))
                client.ContextInit();

            var live = Assert.Throws<IOException>(() => VtestServer.Start(path, factory));
            output.WriteLine(live.Message);
            Assert.Contains("in use by a live server", live.Message);
            // The live server still works.
            using var again = VtestClient.Connect(path, "still-live");
        }
        Assert.False(File.Exists(path));

        File.WriteAllText(path, "not a socket");
        try
        {
            var notSocket = Assert.Throws<IOException>(() => VtestServer.Start(path, factory));
            output.WriteLine(notSocket.Message);
            Assert.Contains("not a socket", notSocket.Message);
            Assert.Equal("not a socket", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ConnectionsBeyondMaxClientsAreRefused()
    {
        using var server = new TestServer(options: new VtestServerOptions { MaxClients = 2 });
        using var one = VtestClient.Connect(server.SocketPath, "one");
        using var two = VtestClient.Connect(server.SocketPath, "two");
        using (var three = RawClient.Connect(server.SocketPath))
            Assert.True(three.WaitClosedByServer(Long));
        server.WaitForLog("refused a connection", "2 clients");
        one.Dispose();
        Assert.True(Wait.Until(() => server.Server.ClientCount == 1, Long));
        using var four = VtestClient.Connect(server.SocketPath, "four");
        four.ContextInit();
        Assert.Equal(1u, four.SyncCreate(0));
    }

    [Fact]
    public void SharedMemoryHelperMapsAndDuplicates()
    {
        using VtestSharedMemory shm = VtestSharedMemory.Create("test", 8192);
        Assert.True(shm.Span.IndexOfAnyExcept((byte)0) < 0);
        int dup = shm.DuplicateFd();
        Assert.NotEqual(shm.Fd, dup);
        using (var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(dup, ownsHandle: true), FileAccess.ReadWrite))
        {
            stream.Write("abc"u8);
            stream.Flush();
        }
        Assert.True(shm.Span[..3].SequenceEqual("abc"u8));
        Assert.Throws<ArgumentOutOfRangeException>(() => shm.GetSpan(8190, 3));
    }
}
