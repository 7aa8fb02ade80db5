using System.Buffers.Binary;
using Venus.Protocol;
using Venus.Protocol.Vulkan;
using Venus.Transport.Vtest;
using Venus.Transport.Vtest.Server;

namespace Venus.GuestIcd.Tests;

/// <summary>The one kind of lie a <see cref="LyingHost"/> tells.</summary>
public enum HostLie
{
    /// <summary>GET_CAPSET: a venus capset of an unknown wire format.</summary>
    CapsetUnknownWireFormat,

    /// <summary>GET_CAPSET: 512 KiB of "capset" (the guest caps it at 256 KiB).</summary>
    CapsetHuge,

    /// <summary>GET_CAPSET: a capset of 8 bytes (the struct is 160).</summary>
    CapsetTruncated,

    /// <summary>RESOURCE_CREATE_BLOB: an fd of 4 KiB for the ring's 1 MiB+ (every access past it would be SIGBUS).</summary>
    BlobShorterThanAsked,

    /// <summary>RESOURCE_CREATE_BLOB: an fd that is not memory (/dev/null).</summary>
    BlobFdNotMemory,

    /// <summary>The ring's head jumps 4 KiB past the tail the guest wrote.</summary>
    RingHeadPastTail,

    /// <summary>The ring's head jumps 1 GiB backwards.</summary>
    RingHeadBackwards,

    /// <summary>The ring's status word turns to all ones (garbage bits, FATAL among them).</summary>
    RingStatusGarbage,

    /// <summary>Every reply is its command's type, VK_SUCCESS and then random bytes; the head says the command is done.</summary>
    ReplyGarbage,

    /// <summary>
    /// Every reply starts with a plausible header (its command's type, VK_SUCCESS) and then
    /// says 0xFFFFFFFF for every count, length, size and pointer-present field.
    /// </summary>
    ReplySizesLie,

    /// <summary>The host closes the socket while the guest waits for its first reply (at the ring's first notify).</summary>
    HangUpMidReply,
}

/// <summary>
/// A test-only vtest host that lies to the guest: the real vtest server framing
/// (<see cref="VtestServer"/>) with a renderer that serves one venus context just far enough
/// (capset, CONTEXT_INIT, shared-memory blobs, ring 0 submissions) to tell its one
/// <see cref="HostLie"/>. It executes no Vulkan: the ring is "served" by a watcher thread that
/// answers each command the guest writes (tail moves) with the lie. The guest ICD creates its ring's
/// shared memory first and its reply buffer second (GuestRing), which is how the watcher tells them apart.
/// </summary>
public sealed class LyingHost : IDisposable
{
    private readonly VtestServer _server;
    private readonly List<string> _log = [];

    private LyingHost(string socketPath, string chrootSocketPath, HostLie lie)
    {
        SocketPath = socketPath;
        ChrootSocketPath = chrootSocketPath;
        Lie = lie;
        if (File.Exists(socketPath))
            File.Delete(socketPath);
        _server = VtestServer.Start(socketPath, new Factory(this), new VtestServerOptions { Log = Log });
    }

    public string SocketPath { get; }

    public string ChrootSocketPath { get; }

    public HostLie Lie { get; }

    /// <summary>Starts one on a socket under the chroot's /tmp.</summary>
    public static LyingHost Start(string peersRoot, string prefix, HostLie lie)
    {
        string name = $"{prefix}-lie-{(int)lie}-{Environment.ProcessId}.sock";
        return new LyingHost(Path.Combine(peersRoot, "tmp", name), "/tmp/" + name, lie);
    }

    public void Log(string line)
    {
        lock (_log)
            _log.Add(line);
    }

    public string LogText()
    {
        lock (_log)
            return string.Join('\n', _log);
    }

    public void Dispose()
    {
        _server.Dispose();
        try { File.Delete(SocketPath); } catch (IOException) { }
    }

    private sealed class Factory(LyingHost host) : IVtestRendererFactory
    {
        public IVtestRenderer Create(int clientId, string clientName) => new Renderer(host, clientId);
    }

    private sealed unsafe class Renderer : IVtestRenderer
    {
        private const int HeadOffset = 0, TailOffset = 64, StatusOffset = 128;
        private const uint StatusIdle = 0x1, StatusAlive = 0x4;

        private readonly LyingHost _host;
        private readonly int _clientId;
        private readonly List<VtestSharedMemory> _blobs = [];
        private readonly Dictionary<uint, VtestSharedMemory> _byId = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly byte[] _capset;
        private Thread? _watcher;
        private uint _nextId;
        private int _ring0Submits;

        public Renderer(LyingHost host, int clientId)
        {
            _host = host;
            _clientId = clientId;
            var capset = new VenusCapset
            {
                WireFormatVersion = host.Lie == HostLie.CapsetUnknownWireFormat ? 0xdead0001u : VenusProtocolInfo.WireFormatVersion,
                VkXmlVersion = VenusProtocolInfo.VkXmlVersion,
                VkExtCommandSerializationSpecVersion = (uint)VenusProtocolInfo.CommandSerializationSpecVersion,
                VkMesaVenusProtocolSpecVersion = 3,
                SupportsBlobId0 = true,
                AllowVkWaitSyncs = true,
                SupportsMultipleTimelines = true,
                ExtensionMask = VenusExtensionMask.FromExtensions(VenusProtocolInfo.Extensions.Select(x => x.Number).ToArray()),
            };
            _capset = host.Lie switch
            {
                HostLie.CapsetHuge => new byte[512 * 1024],
                HostLie.CapsetTruncated => new byte[8],
                _ => new byte[VenusCapset.Size],
            };
            if (_capset.Length >= VenusCapset.Size)
                capset.WriteTo(_capset);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(_capset, VenusProtocolInfo.WireFormatVersion);
        }

        public ReadOnlySpan<byte> GetCapset(uint capsetId, uint version) =>
            capsetId == VenusCapset.CapsetId && version == VenusCapset.CapsetVersion ? _capset : [];

        public void ContextInit(uint capsetId)
        {
        }

        public (uint ResourceId, int Fd) CreateBlob(VtestBlobType type, VtestBlobFlags flags, ulong size, ulong blobId)
        {
            if (blobId != 0 || flags != VtestBlobFlags.Mappable)
                throw new VtestRendererException($"lying host: no device memory here (blob id {blobId}, flags {flags})");
            if (size > 64UL << 20)
                throw new VtestRendererException($"lying host: blob of {size} bytes refused");
            uint id = ++_nextId;
            if (_host.Lie == HostLie.BlobFdNotMemory)
            {
                _host.Log($"lie: blob {id} ({size} bytes) is /dev/null");
                using Microsoft.Win32.SafeHandles.SafeFileHandle h = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
                return (id, DupFd((int)h.DangerousGetHandle()));
            }
            ulong actual = _host.Lie == HostLie.BlobShorterThanAsked && size > 4096 ? 4096 : size;
            if (actual != size)
                _host.Log($"lie: blob {id} asked {size} bytes, fd holds {actual}");
            VtestSharedMemory shm = VtestSharedMemory.Create($"lying-host-{id}", actual);
            _blobs.Add(shm);
            _byId[id] = shm;
            if (_blobs.Count == 2 && _watcher is null)
            {
                // The guest's ring (blob 1, its control words already cleared by the guest) and its reply
                // buffer (blob 2): the ring is "served" from now on, idle and alive before the first command.
                VtestSharedMemory ring = _blobs[0], reply = _blobs[1];
                Volatile.Write(ref *(uint*)(ring.Pointer + StatusOffset), StatusIdle | StatusAlive);
                _watcher = new Thread(() => Watch(ring, reply)) { IsBackground = true, Name = "lying-ring" };
                _watcher.Start();
            }
            return (id, shm.DuplicateFd());
        }

        public void ResourceUnref(uint resourceId)
        {
            if (_byId.Remove(resourceId, out VtestSharedMemory? shm))
            {
                StopWatcher();
                _blobs.Remove(shm);
                shm.Dispose();
            }
        }

        public void Submit(ReadOnlySpan<byte> stream, uint ringIdx, Action retired)
        {
            // Ring 0: first the guest's vkCreateRingMESA, then its vkNotifyRingMESA calls.
            if (ringIdx == 0 && Interlocked.Increment(ref _ring0Submits) > 1 && _host.Lie == HostLie.HangUpMidReply)
            {
                // A later ring-0 submission is the guest's vkNotifyRingMESA: it has a command in the ring and waits.
                _host.Log("lie: hanging up while the guest waits for a reply");
                throw new VtestRendererException("lying host: hangs up mid-reply");
            }
            retired();
        }

        private void Watch(VtestSharedMemory ring, VtestSharedMemory reply)
        {
            uint* head = (uint*)(ring.Pointer + HeadOffset);
            uint* tail = (uint*)(ring.Pointer + TailOffset);
            uint* status = (uint*)(ring.Pointer + StatusOffset);
            uint seen = 0; // the guest may have written its first command already
            bool garbageStatus = false;
            var random = new Random(1234);
            while (!_stop.IsCancellationRequested)
            {
                if (!garbageStatus)
                    Interlocked.Or(ref *status, StatusAlive); // the ring monitor: this host is alive
                uint t = Volatile.Read(ref *tail);
                if (t == seen)
                {
                    Thread.Sleep(1);
                    continue;
                }
                uint from = seen;
                seen = t;
                int type = CommandType(ring, from, t);
                Span<byte> r = reply.GetSpan(0, (int)Math.Min(reply.Size, 4096));
                switch (_host.Lie)
                {
                    case HostLie.RingHeadPastTail:
                        _host.Log($"lie: head 0x{t + 4096:x} past tail 0x{t:x}");
                        Volatile.Write(ref *head, t + 4096);
                        break;
                    case HostLie.RingHeadBackwards:
                        _host.Log($"lie: head 0x{t - (1u << 30):x} with tail 0x{t:x}");
                        Volatile.Write(ref *head, t - (1u << 30));
                        break;
                    case HostLie.RingStatusGarbage:
                        _host.Log("lie: ring status 0xffffffff");
                        garbageStatus = true;
                        Volatile.Write(ref *status, 0xffffffffu);
                        break;
                    case HostLie.ReplyGarbage:
                        random.NextBytes(r);
                        BinaryPrimitives.WriteInt32LittleEndian(r, type);
                        BinaryPrimitives.WriteInt32LittleEndian(r[4..], 0);
                        _host.Log($"lie: reply to command type {type}: VK_SUCCESS, then {r.Length - 8} random bytes");
                        Volatile.Write(ref *head, t);
                        break;
                    case HostLie.ReplySizesLie:
                        r.Fill(0xff);
                        BinaryPrimitives.WriteInt32LittleEndian(r, type);
                        BinaryPrimitives.WriteInt32LittleEndian(r[4..], 0);
                        _host.Log($"lie: reply to command type {type}: VK_SUCCESS, then 0xff bytes for every count, size and pointer");
                        Volatile.Write(ref *head, t);
                        break;
                    default:
                        // HangUpMidReply: never answers; the server hangs up at the notify.
                        break;
                }
            }
        }

        /// <summary>
        /// The type of the command that wants a reply among those the guest wrote in [from, to): the one after
        /// the last vkSetReplyCommandStreamMESA (header, pointer flag, VkCommandStreamDescriptionMESA = 36 bytes).
        /// </summary>
        private static int CommandType(VtestSharedMemory ring, uint from, uint to)
        {
            const int BufferOffset = 192, SetReplySize = 36;
            ulong room = ring.Size - BufferOffset;
            uint size = 1;
            while ((ulong)size * 2 <= room)
                size *= 2;
            int found = -1;
            for (uint pos = from; to - pos >= SetReplySize + 4; pos += 4)
            {
                if (ReadU32(ring, pos, size) == (uint)VkCommandTypeEXT.VK_COMMAND_TYPE_vkSetReplyCommandStreamMESA_EXT)
                    found = (int)ReadU32(ring, pos + SetReplySize, size);
            }
            return found < 0 ? (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkEnumerateInstanceVersion_EXT : found;
        }

        private static uint ReadU32(VtestSharedMemory ring, uint pos, uint size) =>
            BinaryPrimitives.ReadUInt32LittleEndian(ring.GetSpan(192 + (ulong)(pos & (size - 1)), 4));

        private static int DupFd(int fd)
        {
            int d = Venus.Native.Libc.Dup(fd);
            if (d < 0)
                throw new VtestRendererException("lying host: dup failed");
            return d;
        }

        private void StopWatcher()
        {
            _stop.Cancel();
            _watcher?.Join(TimeSpan.FromSeconds(2));
        }

        public void Dispose()
        {
            StopWatcher();
            foreach (VtestSharedMemory shm in _blobs)
                shm.Dispose();
            _blobs.Clear();
            _byId.Clear();
            _stop.Dispose();
            _host.Log($"client {_clientId} gone");
        }
    }
}
