using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Venus.Transport.Vtest;

namespace Venus.Transport.Tests;

/// <summary>
/// A one-connection vtest server on a unix socket that runs a script, for driving the client
/// into error paths the real server does not take. A script failure is rethrown on dispose.
/// </summary>
public sealed class FakeVtestServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Thread _session;
    private Exception? _failure;

    public FakeVtestServer(Action<Connection> script)
    {
        SocketPath = Path.Combine(Path.GetTempPath(), $"venus-fake-vtest-{Guid.NewGuid().ToString("N")[..12]}.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(1);
        // A thread of its own: test runners keep the thread pool busy, and a queued script
        // would stall the client for the pool's thread-injection delay.
        _session = new Thread(() =>
        {
            try
            {
                using Socket socket = _listener.Accept();
                script(new Connection(socket));
            }
            catch (Exception e)
            {
                _failure = e;
            }
        }) { IsBackground = true, Name = "fake vtest server" };
        _session.Start();
    }

    public string SocketPath { get; }

    public void Dispose()
    {
        try
        {
            if (!_session.Join(TimeSpan.FromSeconds(10)))
                throw new TimeoutException("the fake vtest server script did not finish");
            if (_failure is not null)
                throw new InvalidOperationException($"the fake vtest server script failed: {_failure.Message}", _failure);
        }
        finally
        {
            _listener.Dispose();
            File.Delete(SocketPath);
        }
    }

    public sealed class Connection(Socket socket)
    {
        public byte[] ReadBytes(int count)
        {
            byte[] buffer = new byte[count];
            int done = 0;
            while (done < count)
            {
                int n = socket.Receive(buffer, done, count - done, SocketFlags.None);
                if (n == 0)
                    throw new EndOfStreamException($"client closed after {done} of {count} bytes");
                done += n;
            }
            return buffer;
        }

        public uint[] ReadDwords(int count) => MemoryMarshal.Cast<byte, uint>(ReadBytes(count * 4)).ToArray();

        /// <summary>Reads one message; returns its id and payload dwords.</summary>
        public (VtestCommand Id, uint[] Payload) ReadMessage()
        {
            uint[] header = ReadDwords(2);
            return ((VtestCommand)header[1], ReadDwords((int)header[0]));
        }

        public void Expect(VtestCommand id, params uint[] payload)
        {
            (VtestCommand got, uint[] data) = ReadMessage();
            if (got != id || !data.AsSpan().SequenceEqual(payload))
                throw new InvalidDataException($"expected {id} [{string.Join(", ", payload)}], got {got} [{string.Join(", ", data)}]");
        }

        public void Send(params uint[] dwords) => socket.Send(MemoryMarshal.AsBytes(dwords.AsSpan()));

        public void Reply(VtestCommand id, params uint[] payload) => Send([(uint)payload.Length, (uint)id, .. payload]);

        /// <summary>CREATE_RENDERER: length in bytes, the name plus NUL.</summary>
        public string ReadCreateRenderer()
        {
            uint[] header = ReadDwords(2);
            if (header[1] != (uint)VtestCommand.CreateRenderer)
                throw new InvalidDataException($"first message is {header[1]}, not CREATE_RENDERER");
            byte[] name = ReadBytes((int)header[0]);
            if (name[^1] != 0)
                throw new InvalidDataException("renderer name is not NUL-terminated");
            return Encoding.UTF8.GetString(name, 0, name.Length - 1);
        }

        /// <summary>Mesa's start-up as a 1.1.0 server answers it, up to GET_PARAM.</summary>
        public void Handshake(uint protocolVersion = 3, uint maxTimelines = 64)
        {
            ReadCreateRenderer();
            Expect(VtestCommand.PingProtocolVersion);
            Expect(VtestCommand.ResourceBusyWait, 0, 0);
            Reply(VtestCommand.PingProtocolVersion);
            Reply(VtestCommand.ResourceBusyWait, 0);
            Expect(VtestCommand.ProtocolVersion, 3);
            Reply(VtestCommand.ProtocolVersion, protocolVersion);
            if (protocolVersion < 3)
                return; // the client gives up here
            Expect(VtestCommand.GetParam, (uint)VtestParam.MaxTimelineCount);
            Reply(VtestCommand.GetParam, 1, maxTimelines);
        }

        public void Close() => socket.Shutdown(SocketShutdown.Both);

        /// <summary>Returns once the client closed its end, discarding what it still sends (a close with unread bytes is a reset).</summary>
        public void WaitForClientClose()
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

        public static uint U32(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }
}
