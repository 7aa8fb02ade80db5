using System.Buffers.Binary;
using System.Text;
using Venus.Native;

namespace Venus.Transport.RenderServer;

/// <summary>Where a new context's socket goes: a thread of this process or a worker process.</summary>
public interface IRenderContextLauncher
{
    /// <summary>Serves <paramref name="contextSocket"/> (owned from here on) as context <paramref name="contextId"/>.</summary>
    void Launch(int contextSocket, uint contextId, string name);
}

/// <summary>Serves every context on a thread of this process (<c>--isolation thread</c>).</summary>
public sealed class ThreadContextLauncher(IRenderContextFactory factory, RenderServerOptions options) : IRenderContextLauncher
{
    public void Launch(int contextSocket, uint contextId, string name)
    {
        var thread = new Thread(() => RenderContextConnection.Serve(contextSocket, contextId, name, factory, options))
        {
            IsBackground = true,
            Name = $"render ctx {contextId}",
        };
        thread.Start();
    }
}

/// <summary>
/// The main socket of a render server (<c>--socket-fd N</c>, inherited from libvirglrenderer):
/// INIT, RESET, CREATE_CONTEXT (answered with a new SEQPACKET socket for the context, which a
/// <see cref="IRenderContextLauncher"/> serves) and DESTROY_CONTEXT. Bad requests are refused with a
/// log line (CREATE_CONTEXT with <c>ok = false</c>); the server ends only when the socket does.
/// </summary>
public sealed class RenderServer
{
    readonly int _socket;
    readonly IRenderContextLauncher _launcher;
    readonly RenderServerOptions _options;
    readonly HashSet<uint> _contexts = new();
    bool _initialized;

    public RenderServer(int socket, IRenderContextLauncher launcher, RenderServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        _options = options ?? new RenderServerOptions();
        _options.Validate();
        _socket = socket;
        _launcher = launcher;
    }

    /// <summary>The contexts created and not destroyed (for tests and logs).</summary>
    public int ContextCount => _contexts.Count;

    /// <summary>Serves requests until the VMM closes the socket; returns false on a socket error.</summary>
    public bool Run()
    {
        Span<byte> packet = stackalloc byte[64];
        Span<int> fds = stackalloc int[RenderSocket.MaxFds];
        while (true)
        {
            fds.Fill(-1);
            int n = RenderSocket.Receive(_socket, packet, fds, out int fdCount, out bool truncated, out int errno);
            if (n == 0) { Log("the VMM closed the main socket"); return true; }
            if (n < 0) { Log($"main socket error: {Libc.Describe(errno)}"); return false; }
            try
            {
                if (fdCount != 0) Log($"refused: {fdCount} fds on a main-socket request (none expected); closed them");
                if (truncated || n < 4) { Log($"refused: a main-socket packet of {(truncated ? "more than 64" : n.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes"); continue; }
                if (!Dispatch(packet[..n])) return false;
            }
            finally
            {
                RenderSocket.CloseAll(fds);
            }
        }
    }

    void Log(string message)
    {
        try { _options.Log($"venus-host: render server: {message}"); } catch { /* a logger must not end the server */ }
    }

    bool Refuse(string op, int length, int expected)
    {
        Log($"refused: {op} of {length} bytes, expected {expected}");
        return true;
    }

    /// <returns>false when the main socket broke.</returns>
    bool Dispatch(ReadOnlySpan<byte> p)
    {
        uint op = BinaryPrimitives.ReadUInt32LittleEndian(p);
        switch (op)
        {
            case RenderProtocol.OpNop:
                return true;
            case RenderProtocol.ClientOpInit:
                if (p.Length != RenderProtocol.ClientInitSize) return Refuse("INIT", p.Length, RenderProtocol.ClientInitSize);
                if (_initialized) { Log("refused: a second INIT"); return true; }
                _initialized = true;
                Log($"INIT flags 0x{BinaryPrimitives.ReadUInt32LittleEndian(p[4..]):x}");
                return true;
            case RenderProtocol.ClientOpReset:
                if (p.Length != RenderProtocol.ClientResetSize) return Refuse("RESET", p.Length, RenderProtocol.ClientResetSize);
                // The VMM destroys its contexts and closes their sockets; each ends when its socket does.
                Log($"RESET ({_contexts.Count} contexts forgotten)");
                _contexts.Clear();
                return true;
            case RenderProtocol.ClientOpCreateContext:
                if (p.Length != RenderProtocol.CreateContextSize)
                {
                    Refuse("CREATE_CONTEXT", p.Length, RenderProtocol.CreateContextSize);
                    return SendCreateReply(false, -1);
                }
                return CreateContext(BinaryPrimitives.ReadUInt32LittleEndian(p[4..]), ContextName(p.Slice(8, RenderProtocol.ContextNameSize)));
            case RenderProtocol.ClientOpDestroyContext:
            {
                if (p.Length != RenderProtocol.DestroyContextSize) return Refuse("DESTROY_CONTEXT", p.Length, RenderProtocol.DestroyContextSize);
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
                if (!_contexts.Remove(id)) Log($"refused: DESTROY_CONTEXT of context {id}, which is not alive");
                return true;
            }
            default:
                Log($"refused: unknown main-socket op {op} ({p.Length} bytes)");
                return true;
        }
    }

    /// <summary>The name up to its first NUL, printable ASCII only (it lands in log lines).</summary>
    static string ContextName(ReadOnlySpan<byte> raw)
    {
        int end = raw.IndexOf((byte)0);
        if (end >= 0) raw = raw[..end];
        var sb = new StringBuilder(raw.Length);
        foreach (byte b in raw) sb.Append(b is >= 0x20 and < 0x7f ? (char)b : '?');
        return sb.ToString();
    }

    bool CreateContext(uint id, string name)
    {
        if (_contexts.Contains(id)) { Log($"refused: CREATE_CONTEXT {id} ({name}): that context is alive"); return SendCreateReply(false, -1); }
        if (_contexts.Count >= _options.MaxContexts) { Log($"refused: CREATE_CONTEXT {id} ({name}): {_contexts.Count} contexts alive, the limit"); return SendCreateReply(false, -1); }
        int ours, theirs;
        try { (ours, theirs) = RenderSocket.CreatePair(); }
        catch (IOException e) { Log($"refused: CREATE_CONTEXT {id} ({name}): {e.Message}"); return SendCreateReply(false, -1); }
        bool sent = SendCreateReply(true, theirs);
        RenderSocket.Close(theirs);
        if (!sent) { RenderSocket.Close(ours); return false; }
        _contexts.Add(id);
        try
        {
            _launcher.Launch(ours, id, name);
        }
        catch (Exception e)
        {
            // The VMM holds the other end: closing ours makes the context fail there, cleanly.
            Log($"context {id} ({name}) could not start: {e.Message}");
            RenderSocket.Close(ours);
        }
        return true;
    }

    bool SendCreateReply(bool ok, int fd)
    {
        ReadOnlySpan<byte> reply = [ok ? (byte)1 : (byte)0];
        if (RenderSocket.Send(_socket, reply, ok ? new ReadOnlySpan<int>(in fd) : default)) return true;
        Log($"main socket: the CREATE_CONTEXT reply failed: {Libc.Describe(Libc.LastError)}");
        return false;
    }
}
