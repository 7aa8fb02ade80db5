using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Venus.Native;
using Venus.Protocol;
using Venus.Transport.Vtest;
using Venus.Transport.Vtest.Server;

namespace Venus.Transport.Tests;

/// <summary>When the fake renderer calls a submission's <c>retired</c>.</summary>
public enum RetireMode
{
    /// <summary>Inside <see cref="IVtestRenderer.Submit"/>, before it returns (a CPU-timeline renderer).</summary>
    Immediately,
    /// <summary>Never by itself: the test calls <see cref="FakeRenderer.RetireAll"/> or <see cref="FakeRenderer.RetireAt"/>.</summary>
    Deferred,
}

public sealed record SubmitRecord(byte[] Stream, uint RingIdx, Action Retired);

/// <summary>
/// An <see cref="IVtestRenderer"/> that records every call, serves blob_id-0 blobs from
/// <see cref="VtestSharedMemory"/> and throws from Submit for streams that start with
/// <see cref="PoisonDword"/>.
/// </summary>
public sealed class FakeRenderer(int clientId, string clientName, RetireMode retireMode) : IVtestRenderer
{
    public const uint PoisonDword = 0xDEADBEEF;

    public static readonly byte[] CapsetBytes = MakeCapset();

    private readonly Lock _lock = new();
    private readonly List<string> _calls = [];
    private readonly List<SubmitRecord> _submits = [];
    private readonly Dictionary<uint, VtestSharedMemory> _blobs = [];
    private uint _nextResourceId = 1;
    private int _disposeCount;

    public int ClientId { get; } = clientId;
    public string ClientName { get; } = clientName;

    public int DisposeCount => Volatile.Read(ref _disposeCount);

    public string[] Calls
    {
        get { lock (_lock) return [.. _calls]; }
    }

    public SubmitRecord[] Submits
    {
        get { lock (_lock) return [.. _submits]; }
    }

    public int LiveBlobCount
    {
        get { lock (_lock) return _blobs.Count; }
    }

    /// <summary>The renderer's own view of a blob's memory.</summary>
    public VtestSharedMemory Blob(uint resourceId)
    {
        lock (_lock) return _blobs[resourceId];
    }

    public ReadOnlySpan<byte> GetCapset(uint capsetId, uint version)
    {
        Record($"GetCapset({capsetId}, {version})");
        return capsetId == VenusCapset.CapsetId && version == VenusCapset.CapsetVersion ? CapsetBytes : [];
    }

    public void ContextInit(uint capsetId) => Record($"ContextInit({capsetId})");

    public (uint ResourceId, int Fd) CreateBlob(VtestBlobType type, VtestBlobFlags flags, ulong size, ulong blobId)
    {
        Record($"CreateBlob({type}, {flags}, {size}, {blobId})");
        if (blobId != 0 || flags != VtestBlobFlags.Mappable)
            throw new VtestRendererException($"blob id {blobId} with flags {flags} is not shared memory");
        VtestSharedMemory shm = VtestSharedMemory.Create("fake-blob", size);
        lock (_lock)
        {
            uint id = _nextResourceId++;
            _blobs.Add(id, shm);
            return (id, shm.DuplicateFd());
        }
    }

    public void ResourceUnref(uint resourceId)
    {
        Record($"ResourceUnref({resourceId})");
        lock (_lock)
        {
            if (_blobs.Remove(resourceId, out VtestSharedMemory? shm))
                shm.Dispose();
        }
    }

    public void Submit(ReadOnlySpan<byte> stream, uint ringIdx, Action retired)
    {
        Record($"Submit({stream.Length} bytes, ring {ringIdx})");
        if (stream.Length >= 4 && MemoryMarshal.Read<uint>(stream) == PoisonDword)
            throw new InvalidOperationException("poisoned stream");
        lock (_lock)
            _submits.Add(new SubmitRecord(stream.ToArray(), ringIdx, retired));
        if (retireMode == RetireMode.Immediately)
            retired();
    }

    /// <summary>Calls the retired callback of submission <paramref name="index"/> from another thread.</summary>
    public void RetireAt(int index)
    {
        Action retired = Submits[index].Retired;
        var thread = new Thread(() => retired()) { IsBackground = true };
        thread.Start();
        thread.Join();
    }

    public void RetireAll()
    {
        foreach (SubmitRecord submit in Submits)
            submit.Retired();
    }

    public void Dispose()
    {
        Interlocked.Increment(ref _disposeCount);
        lock (_lock)
        {
            _calls.Add("Dispose");
            foreach (VtestSharedMemory shm in _blobs.Values)
                shm.Dispose();
            _blobs.Clear();
        }
    }

    private void Record(string call)
    {
        lock (_lock)
            _calls.Add(call);
    }

    private static byte[] MakeCapset()
    {
        var capset = new VenusCapset
        {
            WireFormatVersion = 1,
            VkXmlVersion = VenusCapset.MakeVulkanVersion(1, 4, 307),
            VkExtCommandSerializationSpecVersion = 1,
            VkMesaVenusProtocolSpecVersion = 1,
            SupportsBlobId0 = true,
            AllowVkWaitSyncs = true,
            SupportsMultipleTimelines = true,
        };
        byte[] bytes = new byte[VenusCapset.Size];
        capset.WriteTo(bytes);
        return bytes;
    }
}

public sealed class FakeRendererFactory(RetireMode retireMode = RetireMode.Immediately) : IVtestRendererFactory
{
    private readonly ConcurrentQueue<FakeRenderer> _created = new();

    public RetireMode RetireMode { get; set; } = retireMode;

    public FakeRenderer[] Created => [.. _created];

    public IVtestRenderer Create(int clientId, string clientName)
    {
        if (clientName.StartsWith("refuse-", StringComparison.Ordinal))
            throw new VtestRendererException("this name is refused");
        var renderer = new FakeRenderer(clientId, clientName, RetireMode);
        _created.Enqueue(renderer);
        return renderer;
    }

    public FakeRenderer ByName(string name) => _created.Single(r => r.ClientName == name);
}

/// <summary>A <see cref="VtestServer"/> on a fresh temporary socket whose log lines are kept.</summary>
public sealed class TestServer : IDisposable
{
    private readonly ConcurrentQueue<string> _log = new();

    public TestServer(FakeRendererFactory? factory = null, VtestServerOptions? options = null)
    {
        Factory = factory ?? new FakeRendererFactory();
        SocketPath = NewSocketPath();
        Server = VtestServer.Start(SocketPath, Factory, (options ?? new VtestServerOptions()) with { Log = _log.Enqueue });
    }

    public FakeRendererFactory Factory { get; }
    public VtestServer Server { get; }
    public string SocketPath { get; }
    public string[] Log => [.. _log];

    public static string NewSocketPath() =>
        Path.Combine("/tmp", $"venus-vtest-server-{Guid.NewGuid().ToString("N")[..12]}.sock");

    /// <summary>Waits for a log line containing every part.</summary>
    public string WaitForLog(params string[] parts)
    {
        string? line = null;
        bool found = Wait.Until(() => (line = _log.FirstOrDefault(l => parts.All(l.Contains))) is not null, TimeSpan.FromSeconds(10));
        Assert.True(found, $"no log line with [{string.Join("] [", parts)}]; log:\n{string.Join("\n", _log)}");
        return line!;
    }

    public void WaitForNoClients() =>
        Assert.True(Wait.Until(() => Server.ClientCount == 0, TimeSpan.FromSeconds(10)),
            $"{Server.ClientCount} clients still served; log:\n{string.Join("\n", _log)}");

    public void Dispose() => Server.Dispose();
}

public static class Wait
{
    public static bool Until(Func<bool> condition, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
                return false;
            Thread.Sleep(5);
        }
        return true;
    }
}

/// <summary>A byte-level vtest client for what <see cref="VtestClient"/> refuses to send.</summary>
public sealed class RawClient : IDisposable
{
    private readonly Socket _socket;

    private RawClient(Socket socket) => _socket = socket;

    public static RawClient Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(path));
        return new RawClient(socket);
    }

    public void SendBytes(ReadOnlySpan<byte> bytes) => _socket.Send(bytes);

    public void Send(params uint[] dwords) => SendBytes(MemoryMarshal.AsBytes(dwords.AsSpan()));

    public void Message(VtestCommand id, params uint[] payload) => Send([(uint)payload.Length, (uint)id, .. payload]);

    public void CreateRenderer(string name)
    {
        byte[] bytes = [.. Encoding.UTF8.GetBytes(name), 0];
        Send((uint)bytes.Length, (uint)VtestCommand.CreateRenderer);
        SendBytes(bytes);
    }

    /// <summary>Mesa's start-up up to and including CONTEXT_INIT(4) (§6.4).</summary>
    public void Handshake(string name, bool contextInit = true)
    {
        CreateRenderer(name);
        Message(VtestCommand.PingProtocolVersion);
        Message(VtestCommand.ResourceBusyWait, 0, 0);
        Assert.Equal<uint>([], ReadReply(VtestCommand.PingProtocolVersion));
        Assert.Equal<uint>([0], ReadReply(VtestCommand.ResourceBusyWait));
        Message(VtestCommand.ProtocolVersion, 3);
        Assert.Equal<uint>([3], ReadReply(VtestCommand.ProtocolVersion));
        Message(VtestCommand.GetParam, (uint)VtestParam.MaxTimelineCount);
        Assert.Equal<uint>([1, 64], ReadReply(VtestCommand.GetParam));
        if (contextInit)
            Message(VtestCommand.ContextInit, VenusCapset.CapsetId);
    }

    public byte[] ReadBytes(int count)
    {
        byte[] buffer = new byte[count];
        int done = 0;
        _socket.ReceiveTimeout = 10_000;
        while (done < count)
        {
            int n = _socket.Receive(buffer, done, count - done, SocketFlags.None);
            if (n == 0)
                throw new EndOfStreamException($"server closed after {done} of {count} bytes");
            done += n;
        }
        return buffer;
    }

    public uint[] ReadReply(VtestCommand id)
    {
        uint[] header = MemoryMarshal.Cast<byte, uint>(ReadBytes(8)).ToArray();
        Assert.Equal((uint)id, header[1]);
        return MemoryMarshal.Cast<byte, uint>(ReadBytes(checked((int)header[0] * 4))).ToArray();
    }

    /// <summary>True once the server closed the connection (end of stream or reset), discarding what it sent before.</summary>
    public bool WaitClosedByServer(TimeSpan timeout)
    {
        _socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        byte[] sink = new byte[4096];
        try
        {
            while (true)
            {
                if (_socket.Receive(sink) == 0)
                    return true;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return false;
        }
    }

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public void Dispose() => _socket.Dispose();
}

public static class ProcessResources
{
    public static int OpenFdCount() => Directory.GetFiles("/proc/self/fd").Length;

    public static int ThreadCount() => Directory.GetDirectories("/proc/self/task").Length;

    public static string[] OpenFds() =>
        [.. Directory.GetFiles("/proc/self/fd").Select(f =>
        {
            try
            {
                return $"{Path.GetFileName(f)} -> {new FileInfo(f).LinkTarget}";
            }
            catch (IOException)
            {
                return Path.GetFileName(f);
            }
        })];
}

/// <summary>What the tests do with libc that .NET does not offer (on the tree's libc layer, <see cref="Libc"/>).</summary>
public static unsafe class TestLibc
{
    /// <summary>Leaves a socket file at <paramref name="path"/> that nobody listens on.</summary>
    public static void BindAndClose(string path)
    {
        var address = new Libc.SockaddrUn { sun_family = Libc.AF_UNIX };
        Encoding.UTF8.GetBytes(path, new Span<byte>(address.sun_path, Libc.SockaddrUn.PathCapacity - 1));
        int fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0);
        Assert.True(fd >= 0, $"socket failed: {Marshal.GetLastPInvokeError()}");
        try
        {
            Assert.True(Libc.Bind(fd, &address, (uint)(2 + Encoding.UTF8.GetByteCount(path) + 1)) == 0, $"bind failed: {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Libc.Close(fd);
        }
    }
}
