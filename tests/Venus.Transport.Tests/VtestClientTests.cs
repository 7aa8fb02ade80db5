using System.Net.Sockets;
using Venus.Protocol;
using Venus.Transport.Vtest;
using Xunit.Abstractions;

namespace Venus.Transport.Tests;

/// <summary>
/// <see cref="VtestClient"/>'s wire layout and failure handling against scripted fake servers: each failure is a
/// <see cref="VtestException"/> of its kind, and a protocol error makes every later call throw.
/// </summary>
public sealed class VtestClientTests(ITestOutputHelper output)
{
    private VtestException ConnectFails(FakeVtestServer server, VtestErrorKind kind)
    {
        var error = Assert.Throws<VtestException>(() => VtestClient.Connect(server.SocketPath, "fake"));
        output.WriteLine(error.Message);
        Assert.Equal(kind, error.Kind);
        return error;
    }

    [Fact]
    public void MissingSocketNamesThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"venus-no-such-{Guid.NewGuid():N}.sock");
        var error = Assert.Throws<VtestException>(() => VtestClient.Connect(path, "test"));
        output.WriteLine(error.Message);
        Assert.Equal(VtestErrorKind.SocketMissing, error.Kind);
        Assert.Contains(path, error.Message);
        Assert.Equal(2, error.Errno); // ENOENT
    }

    [Fact]
    public void SocketNobodyListensOnIsRefused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"venus-unlistened-{Guid.NewGuid():N}.sock");
        using (var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            bound.Bind(new UnixDomainSocketEndPoint(path));
            var error = Assert.Throws<VtestException>(() => VtestClient.Connect(path, "test"));
            output.WriteLine(error.Message);
            Assert.Equal(VtestErrorKind.ConnectFailed, error.Kind);
            Assert.Contains(path, error.Message);
        }
        File.Delete(path);
    }

    [Fact]
    public void OverlongSocketPathIsRejected()
    {
        string path = "/tmp/" + new string('x', 120);
        var error = Assert.Throws<VtestException>(() => VtestClient.Connect(path, "test"));
        Assert.Equal(VtestErrorKind.ConnectFailed, error.Kind);
        Assert.Contains("108", error.Message);
    }

    [Fact]
    public void HandshakeFollowsMesasOrder()
    {
        string? name = null;
        using var server = new FakeVtestServer(c =>
        {
            name = c.ReadCreateRenderer();
            c.Expect(VtestCommand.PingProtocolVersion);
            c.Expect(VtestCommand.ResourceBusyWait, 0, 0);
            c.Reply(VtestCommand.PingProtocolVersion);
            c.Reply(VtestCommand.ResourceBusyWait, 0);
            c.Expect(VtestCommand.ProtocolVersion, 3);
            c.Reply(VtestCommand.ProtocolVersion, 3);
            c.Expect(VtestCommand.GetParam, 1);
            c.Reply(VtestCommand.GetParam, 1, 64);
        });
        using (VtestClient client = VtestClient.Connect(server.SocketPath, "vkcube-ü"))
        {
            Assert.Equal(3u, client.ProtocolVersion);
            Assert.Equal(64u, client.MaxTimelineCount);
        }
        server.Dispose();
        Assert.Equal("vkcube-ü", name);
    }

    [Fact]
    public void ServerClosingDuringHandshakeIsConnectionClosed()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.ReadCreateRenderer();
            c.Close();
        });
        var error = ConnectFails(server, VtestErrorKind.ConnectionClosed);
        Assert.Contains(server.SocketPath, error.Message);
        Assert.Contains("PING_PROTOCOL_VERSION", error.Message);
    }

    [Fact]
    public void ServerClosingMidReplyReportsTheShortRead()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.ReadCreateRenderer();
            c.ReadMessage();
            c.ReadMessage();
            c.Reply(VtestCommand.PingProtocolVersion);
            c.Reply(VtestCommand.ResourceBusyWait, 0);
            c.ReadMessage();
            c.Reply(VtestCommand.ProtocolVersion, 3);
            c.ReadMessage();
            c.Send(2, (uint)VtestCommand.GetParam, 1); // one of the two promised dwords
            c.Close();
        });
        var error = ConnectFails(server, VtestErrorKind.ConnectionClosed);
        Assert.Contains("after 4 of 8 bytes", error.Message);
    }

    [Fact]
    public void ServerWithoutPingIsProtocolVersion0()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.ReadCreateRenderer();
            c.ReadMessage(); // PING: unknown to an old server, which ignores it
            c.ReadMessage();
            c.Reply(VtestCommand.ResourceBusyWait, 0);
        });
        var error = ConnectFails(server, VtestErrorKind.ProtocolVersion);
        Assert.Contains("protocol 0", error.Message);
    }

    [Fact]
    public void ProtocolVersionBelow3IsRefused()
    {
        using var server = new FakeVtestServer(c => c.Handshake(protocolVersion: 2));
        var error = ConnectFails(server, VtestErrorKind.ProtocolVersion);
        Assert.Contains("version 2", error.Message);
    }

    [Fact]
    public void WrongReplyIdIsABadHeader()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.ReadCreateRenderer();
            c.ReadMessage();
            c.ReadMessage();
            c.Reply((VtestCommand)99);
        });
        var error = ConnectFails(server, VtestErrorKind.BadHeader);
        Assert.Contains("id 99", error.Message);
    }

    [Fact]
    public void ReplyOfTheWrongLengthIsAShortReply()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.ReadCreateRenderer();
            c.ReadMessage();
            c.ReadMessage();
            c.Reply(VtestCommand.PingProtocolVersion);
            c.Reply(VtestCommand.ResourceBusyWait, 0);
            c.ReadMessage();
            c.Reply(VtestCommand.ProtocolVersion, 3);
            c.ReadMessage();
            c.Reply(VtestCommand.GetParam, 1); // valid flag only
        });
        var error = ConnectFails(server, VtestErrorKind.ShortReply);
        Assert.Contains("GET_PARAM", error.Message);
    }

    [Fact]
    public void ServerWithoutTimelinesIsRefusedLikeMesa()
    {
        using var server = new FakeVtestServer(c => c.Handshake(maxTimelines: 0));
        ConnectFails(server, VtestErrorKind.NoTimelines);
    }

    [Fact]
    public void InvalidCapsetIsReported()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.Handshake();
            c.Expect(VtestCommand.GetCapset, 4, 0);
            c.Reply(VtestCommand.GetCapset, 0);
        });
        using VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        var error = Assert.Throws<VtestException>(() => client.GetCapset());
        output.WriteLine(error.Message);
        Assert.Equal(VtestErrorKind.CapsetInvalid, error.Kind);
    }

    [Fact]
    public void CapsetOf39DwordsIsZeroExtended()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.Handshake();
            c.Expect(VtestCommand.GetCapset, 4, 0);
            uint[] capset = new uint[39];
            capset[0] = 1;
            capset[1] = VenusCapset.MakeVulkanVersion(1, 3, 252);
            capset[5] = 1; // mask valid
            capset[38] = 1; // supports_multiple_timelines
            c.Reply(VtestCommand.GetCapset, [1, .. capset]);
        });
        using VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        VenusCapset parsed = client.GetCapset();
        Assert.Equal("1.3.252", VenusCapset.FormatVulkanVersion(parsed.VkXmlVersion));
        Assert.True(parsed.SupportsMultipleTimelines);
        Assert.False(parsed.UseGuestVram);
    }

    [Fact]
    public void SubmitSendsExactlyOneBatch()
    {
        var messages = new List<uint[]>();
        using var server = new FakeVtestServer(c =>
        {
            c.Handshake();
            for (int i = 0; i < 2; i++)
            {
                (VtestCommand id, uint[] payload) = c.ReadMessage();
                Assert.Equal(VtestCommand.SubmitCmd2, id);
                messages.Add(payload);
            }
        });
        using (VtestClient client = VtestClient.Connect(server.SocketPath, "fake"))
        {
            byte[] stream = [1, 0, 0, 0, 2, 0, 0, 0];
            client.SubmitCommands(stream);
            client.SubmitCommands(stream, ringIdx: 5, syncs: [(7, 0x1_0000_0002)]);
        }
        server.Dispose();

        // batch_count, {flags, cmd_offset, cmd_size, sync_offset, sync_count, ring_idx}, stream, syncs
        Assert.Equal([1u, 1, 7, 2, 9, 0, 0, 1, 2], messages[0]);
        Assert.Equal([1u, 1, 7, 2, 9, 1, 5, 1, 2, 7, 2, 1], messages[1]);
    }

    [Fact]
    public void SubmitRejectsPartialDwordsAndUnknownTimelines()
    {
        using var server = new FakeVtestServer(c => c.Handshake(maxTimelines: 64));
        using VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        Assert.Throws<ArgumentException>(() => client.SubmitCommands(new byte[6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => client.SubmitCommands(new byte[4], ringIdx: 64));
    }

    [Fact]
    public void BlobReplyWithoutAnFdIsReported()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.Handshake();
            c.Expect(VtestCommand.ContextInit, 4);
            c.Expect(VtestCommand.ResourceCreateBlob, 2, 1, 4096, 0, 0, 0);
            c.Reply(VtestCommand.ResourceCreateBlob, 1);
            c.Send(0); // the data byte arrives, but without SCM_RIGHTS
        });
        using VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        client.ContextInit();
        var error = Assert.Throws<VtestException>(() =>
            client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0));
        output.WriteLine(error.Message);
        Assert.Equal(VtestErrorKind.FdMissing, error.Kind);
    }

    [Fact]
    public void AnAbsurdCapsetSizeFaultsTheConnectionForEveryLaterCall()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.Handshake();
            c.Expect(VtestCommand.GetCapset, 4, 0);
            c.Send(1 + 1_000_000, (uint)VtestCommand.GetCapset, 1);
            c.WaitForClientClose();
        });
        using VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        var error = Assert.Throws<VtestException>(() => client.GetCapset());
        Assert.Equal(VtestErrorKind.ShortReply, error.Kind);
        Assert.Contains("claims 1000000 dwords", error.Message);
        var later = Assert.Throws<VtestException>(() => client.SyncCreate(0));
        Assert.Equal(VtestErrorKind.Faulted, later.Kind);
        Assert.Contains("claims 1000000 dwords", later.Message);
        Assert.True(client.IsPeerClosed());
    }

    [Fact]
    public void AnInvalidCapsetLeavesTheConnectionUsable()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.Handshake();
            c.Expect(VtestCommand.GetCapset, 4, 0);
            c.Reply(VtestCommand.GetCapset, 0);
            c.Expect(VtestCommand.SyncCreate, 0, 0);
            c.Reply(VtestCommand.SyncCreate, 7);
            c.WaitForClientClose();
        });
        using VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        Assert.Equal(VtestErrorKind.CapsetInvalid, Assert.Throws<VtestException>(() => client.GetCapset()).Kind);
        Assert.Equal(7u, client.SyncCreate(0));
        Assert.False(client.IsPeerClosed());
    }

    [Fact]
    public void AReplyOutOfStepAfterTheHandshakeFaultsTheConnection()
    {
        using var server = new FakeVtestServer(c =>
        {
            c.Handshake();
            c.Expect(VtestCommand.SyncCreate, 0, 0);
            c.Reply(VtestCommand.SyncRead, 1, 0);
            c.WaitForClientClose();
        });
        using VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        var error = Assert.Throws<VtestException>(() => client.SyncCreate(0));
        Assert.Equal(VtestErrorKind.BadHeader, error.Kind);
        Assert.Contains("expected id 19 (SYNC_CREATE)", error.Message);
        Assert.Equal(VtestErrorKind.Faulted, Assert.Throws<VtestException>(() => client.SyncRead(1)).Kind);
    }

    [Fact]
    public void DisposedClientThrowsObjectDisposed()
    {
        using var server = new FakeVtestServer(c => c.Handshake());
        VtestClient client = VtestClient.Connect(server.SocketPath, "fake");
        client.Dispose();
        client.Dispose();
        Assert.Throws<ObjectDisposedException>(() => client.SyncCreate(0));
    }
}
