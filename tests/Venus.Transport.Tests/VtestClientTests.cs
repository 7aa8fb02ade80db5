using System.Net.Sockets;
using System.Runtime.InteropServices;
using Venus.Protocol;
using Venus.Transport.Vtest;

namespace Venus.Transport.Tests;

/// <summary>
/// <see cref="VtestClient"/> against a scripted server that lies or breaks off: each failure is a
/// <see cref="VtestException"/> of the right kind, and after a protocol error every later call
/// throws (the byte stream can no longer be trusted).
/// </summary>
public sealed class VtestClientTests
{
    [Fact]
    public void AMissingSocketSaysSo()
    {
        var e = Assert.Throws<VtestException>(() => VtestClient.Connect(TestServer.NewSocketPath(), "missing"));
        Assert.Equal(VtestErrorKind.SocketMissing, e.Kind);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void ASocketPathTooLongForUnixSocketsIsRefused()
    {
        var e = Assert.Throws<VtestException>(() => VtestClient.Connect("/tmp/" + new string('x', 120), "long"));
        Assert.Equal(VtestErrorKind.ConnectFailed, e.Kind);
    }

    [Fact]
    public void AServerWithoutPingIsProtocolZero()
    {
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Read(VtestCommand.CreateRenderer);
            peer.Read(VtestCommand.PingProtocolVersion);
            peer.Read(VtestCommand.ResourceBusyWait);
            peer.Reply(VtestCommand.ResourceBusyWait, 0);
        });
        var e = Assert.Throws<VtestException>(() => VtestClient.Connect(server.Path, "old"));
        Assert.Equal(VtestErrorKind.ProtocolVersion, e.Kind);
        Assert.Contains("protocol 0", e.Message);
        server.Finish();
    }

    [Fact]
    public void AServerBelowVersionThreeIsRefused()
    {
        using var server = new ScriptedVtestServer(peer => peer.Handshake(version: 2));
        var e = Assert.Throws<VtestException>(() => VtestClient.Connect(server.Path, "v2"));
        Assert.Equal(VtestErrorKind.ProtocolVersion, e.Kind);
        Assert.Contains("agreed to protocol version 2", e.Message);
        server.Finish();
    }

    [Fact]
    public void AServerWithoutTimelinesIsRefused()
    {
        using var server = new ScriptedVtestServer(peer => peer.Handshake(timelines: 0));
        var e = Assert.Throws<VtestException>(() => VtestClient.Connect(server.Path, "no-timelines"));
        Assert.Equal(VtestErrorKind.NoTimelines, e.Kind);
        server.Finish();
    }

    [Fact]
    public void AnAbsurdCapsetSizeFaultsTheConnection()
    {
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Handshake();
            peer.Read(VtestCommand.GetCapset);
            peer.Send(1 + 1_000_000, (uint)VtestCommand.GetCapset, 1);
            peer.WaitForClose();
        });
        using VtestClient client = VtestClient.Connect(server.Path, "big-capset");
        var e = Assert.Throws<VtestException>(() => client.GetCapset());
        Assert.Equal(VtestErrorKind.ShortReply, e.Kind);
        Assert.Contains("claims 1000000 dwords", e.Message);
        var later = Assert.Throws<VtestException>(() => client.SyncCreate(0));
        Assert.Equal(VtestErrorKind.Faulted, later.Kind);
        Assert.Contains("claims 1000000 dwords", later.Message);
        client.Dispose();
        server.Finish();
    }

    [Fact]
    public void AnInvalidCapsetIsNotAFault()
    {
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Handshake();
            peer.Read(VtestCommand.GetCapset);
            peer.Reply(VtestCommand.GetCapset, 0);
            peer.Read(VtestCommand.SyncCreate);
            peer.Reply(VtestCommand.SyncCreate, 7);
            peer.WaitForClose();
        });
        using VtestClient client = VtestClient.Connect(server.Path, "no-capset");
        var e = Assert.Throws<VtestException>(() => client.GetCapset());
        Assert.Equal(VtestErrorKind.CapsetInvalid, e.Kind);
        Assert.Equal(7u, client.SyncCreate(0));
        client.Dispose();
        server.Finish();
    }

    [Fact]
    public void AReplyForAnotherCommandFaultsTheConnection()
    {
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Handshake();
            peer.Read(VtestCommand.SyncCreate);
            peer.Reply(VtestCommand.SyncRead, 1, 0);
            peer.WaitForClose();
        });
        using VtestClient client = VtestClient.Connect(server.Path, "out-of-step");
        var e = Assert.Throws<VtestException>(() => client.SyncCreate(0));
        Assert.Equal(VtestErrorKind.BadHeader, e.Kind);
        Assert.Equal(VtestErrorKind.Faulted, Assert.Throws<VtestException>(() => client.SyncRead(1)).Kind);
        client.Dispose();
        server.Finish();
    }

    [Fact]
    public void AReplyOfTheWrongLengthFaultsTheConnection()
    {
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Handshake();
            peer.Read(VtestCommand.SyncRead);
            peer.Reply(VtestCommand.SyncRead, 1);
            peer.WaitForClose();
        });
        using VtestClient client = VtestClient.Connect(server.Path, "short");
        var e = Assert.Throws<VtestException>(() => client.SyncRead(3));
        Assert.Equal(VtestErrorKind.ShortReply, e.Kind);
        Assert.Contains("has 1 payload dwords; expected 2", e.Message);
        client.Dispose();
        server.Finish();
    }

    [Fact]
    public void AServerThatHangsUpMidReplyIsConnectionClosed()
    {
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Handshake();
            peer.Read(VtestCommand.SyncRead);
            peer.Send(2, (uint)VtestCommand.SyncRead, 5);
        });
        using VtestClient client = VtestClient.Connect(server.Path, "hang-up");
        var e = Assert.Throws<VtestException>(() => client.SyncRead(3));
        Assert.Equal(VtestErrorKind.ConnectionClosed, e.Kind);
        Assert.Contains("after 4 of 8 bytes", e.Message);
        Assert.True(client.IsPeerClosed());
        client.Dispose();
        server.Finish();
    }

    [Fact]
    public void AnFdReplyWithoutAnFdIsFdMissing()
    {
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Handshake();
            peer.Read(VtestCommand.ContextInit);
            peer.Read(VtestCommand.ResourceCreateBlob);
            peer.Reply(VtestCommand.ResourceCreateBlob, 1);
            peer.Send([0u]); // the data byte (padded) with no SCM_RIGHTS
            peer.WaitForClose();
        });
        using VtestClient client = VtestClient.Connect(server.Path, "no-fd");
        client.ContextInit();
        var e = Assert.Throws<VtestException>(() => client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0));
        Assert.Equal(VtestErrorKind.FdMissing, e.Kind);
        client.Dispose();
        server.Finish();
    }

    [Fact]
    public void RequestsAreFramedAsTheServerReadsThem()
    {
        uint[]? submit = null;
        using var server = new ScriptedVtestServer(peer =>
        {
            peer.Handshake();
            peer.Read(VtestCommand.ContextInit);
            submit = peer.Read(VtestCommand.SubmitCmd2);
            peer.Read(VtestCommand.SyncWrite);
            peer.WaitForClose();
        });
        using VtestClient client = VtestClient.Connect(server.Path, "framing");
        Assert.Equal(3u, client.ProtocolVersion);
        Assert.Equal(64u, client.MaxTimelineCount);
        client.ContextInit();
        client.SubmitCommands([1, 2, 3, 4, 5, 6, 7, 8], ringIdx: 2, syncs: [(9, 0x1_0000_0002)]);
        client.SyncWrite(9, 3);
        client.Dispose();
        server.Finish();
        // batch_count, one batch header (flags, cmd offset/size, sync offset/count, ring), 2 command dwords, one sync entry.
        Assert.Equal<uint>([1, (uint)VtestSubmitFlags.RingIdx, 7, 2, 9, 1, 2, 0x04030201, 0x08070605, 9, 2, 1], Assert.IsType<uint[]>(submit));
    }
}

/// <summary>
/// A vtest server that follows a script on its own thread (one connection): it reads what the
/// client sends, message by message, and answers whatever the test wants, lies included.
/// </summary>
internal sealed class ScriptedVtestServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Thread _thread;
    private Exception? _error;

    public ScriptedVtestServer(Action<Peer> script)
    {
        Path = TestServer.NewSocketPath();
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(Path));
        _listener.Listen(1);
        _thread = new Thread(() =>
        {
            try
            {
                using Socket s = _listener.Accept();
                s.ReceiveTimeout = 10_000;
                script(new Peer(s));
            }
            catch (Exception e)
            {
                _error = e;
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public string Path { get; }

    /// <summary>Waits for the script to end and fails the test if it did not run to its end.</summary>
    public void Finish()
    {
        Assert.True(_thread.Join(TimeSpan.FromSeconds(10)), "the scripted server did not finish");
        if (_error is not null) throw new Xunit.Sdk.XunitException($"the scripted server failed: {_error}");
    }

    public void Dispose()
    {
        _listener.Dispose();
        File.Delete(Path);
    }

    public sealed class Peer(Socket socket)
    {
        /// <summary>Reads one message, checks its id, returns its payload (dwords; CREATE_RENDERER's bytes padded).</summary>
        public uint[] Read(VtestCommand expected)
        {
            uint[] header = MemoryMarshal.Cast<byte, uint>(ReadBytes(8)).ToArray();
            Assert.Equal((uint)expected, header[1]);
            int bytes = expected == VtestCommand.CreateRenderer ? (int)header[0] : checked((int)header[0] * 4);
            byte[] payload = ReadBytes(bytes);
            Array.Resize(ref payload, (bytes + 3) / 4 * 4);
            return MemoryMarshal.Cast<byte, uint>(payload).ToArray();
        }

        public void Send(params uint[] dwords) => socket.Send(MemoryMarshal.AsBytes(dwords.AsSpan()));

        public void Reply(VtestCommand id, params uint[] payload) => Send([(uint)payload.Length, (uint)id, .. payload]);

        /// <summary>Mesa's start-up from the server's side, answering <paramref name="version"/> and <paramref name="timelines"/>.</summary>
        public void Handshake(uint version = 3, uint timelines = 64)
        {
            Read(VtestCommand.CreateRenderer);
            Read(VtestCommand.PingProtocolVersion);
            Read(VtestCommand.ResourceBusyWait);
            Reply(VtestCommand.PingProtocolVersion);
            Reply(VtestCommand.ResourceBusyWait, 0);
            Assert.Equal<uint>([VtestProtocol.Version], Read(VtestCommand.ProtocolVersion));
            Reply(VtestCommand.ProtocolVersion, version);
            if (version < VtestProtocol.MinimumVenusVersion) return;
            Assert.Equal<uint>([(uint)VtestParam.MaxTimelineCount], Read(VtestCommand.GetParam));
            Reply(VtestCommand.GetParam, 1, timelines);
        }

        /// <summary>Returns once the client closed its end (discarding anything it still sends; a close with unread bytes is a reset).</summary>
        public void WaitForClose()
        {
            byte[] sink = new byte[256];
            try
            {
                while (socket.Receive(sink) > 0) { }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
            }
        }

        private byte[] ReadBytes(int count)
        {
            byte[] buffer = new byte[count];
            int done = 0;
            while (done < count)
            {
                int n = socket.Receive(buffer, done, count - done, SocketFlags.None);
                if (n == 0) throw new EndOfStreamException($"the client closed after {done} of {count} bytes");
                done += n;
            }
            return buffer;
        }
    }
}
