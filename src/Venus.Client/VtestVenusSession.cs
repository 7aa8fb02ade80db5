using System.Buffers.Binary;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Venus.Transport.Vtest;

namespace Venus.Client;

/// <summary>A Venus call failed: the host answered with an error, a reply did not decode, or no reply came.</summary>
public sealed class VenusCallException(string message) : Exception(message);

/// <summary>
/// A Venus context on a vtest host, used the way a guest driver uses the virtqueue (fact sheet
/// §6.4, without a ring): every call is one SUBMIT_CMD2 on ring 0 holding
/// <c>vkSetReplyCommandStreamMESA</c> (pointing at offset 0 of the reply blob) followed by the
/// command with GENERATE_REPLY, plus a timeline sync that is waited on before the reply is read.
/// One call at a time; a call is
/// <code>
/// VnEncoder e = session.BeginCall(vkX.Size(..., session.Filter), vkX.ReplySize(...));
/// vkX.Encode(ref e, VtestVenusSession.Reply, ...);
/// VnDecoder d = session.Submit(e);
/// session.Check(d, vkX.DecodeReply(ref d, ...));
/// </code>
/// </summary>
public sealed unsafe class VtestVenusSession : IDisposable
{
    public const VkCommandFlagBitsEXT Reply = VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT;
    public const VkCommandFlagBitsEXT NoReply = 0;
    public const ulong DefaultReplyBlobSize = 1 << 20;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly VtestClient _client;
    private readonly VtestBlob _replyBlob;
    private readonly uint _sync;
    private ulong _syncValue;
    private ulong _nextObjectId = 0x1000;
    private byte[] _request = new byte[4096];
    private int _prefix;          // bytes of vkSetReplyCommandStreamMESA in front of the command (0 without a reply)
    private ulong _requestSize;   // what the command's Size() said, for the encode check
    private ulong _replySize;
    private string _command = "";

    private VtestVenusSession(VtestClient client, VenusCapset capset, VtestBlob replyBlob, uint sync)
    {
        _client = client;
        Capset = capset;
        _replyBlob = replyBlob;
        _sync = sync;
        Filter = VnProtocolFilter.FromCapset(capset);
    }

    /// <summary>Handshake, capset, CONTEXT_INIT, one mappable reply blob and one sync.</summary>
    public static VtestVenusSession Open(string socketPath, string rendererName = "venus-probe",
        ulong replyBlobSize = DefaultReplyBlobSize)
    {
        VtestClient client = VtestClient.Connect(socketPath, rendererName);
        try
        {
            VenusCapset capset = client.GetCapset();
            client.ContextInit();
            VtestBlob blob = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, replyBlobSize, 0);
            return new VtestVenusSession(client, capset, blob, client.SyncCreate(0));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public VenusCapset Capset { get; }

    /// <summary>What the host's protocol understands (capset vk.xml version and extension mask).</summary>
    public VnProtocolFilter Filter { get; }

    public string SocketPath => _client.SocketPath;
    public uint VtestProtocolVersion => _client.ProtocolVersion;
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>A fresh object id for a handle the guest creates (§1.7: guest-chosen, unique, non-zero).</summary>
    public ulong NewObjectId() => _nextObjectId++;

    /// <summary>
    /// Starts a reply-generating call: writes <c>vkSetReplyCommandStreamMESA</c> for
    /// <paramref name="replySize"/> bytes and returns the encoder for the command itself.
    /// </summary>
    public VnEncoder BeginCall(ulong requestSize, ulong replySize)
    {
        if (replySize > _replyBlob.Size)
            throw new VenusCallException($"a reply of {replySize} bytes does not fit the {_replyBlob.Size}-byte reply blob");
        var stream = new VkCommandStreamDescriptionMESA { resourceId = _replyBlob.ResourceId, offset = 0, size = (nuint)replySize };
        int prefix = checked((int)vkSetReplyCommandStreamMESA.Size(&stream));
        var e = Begin(prefix, requestSize, replySize);
        vkSetReplyCommandStreamMESA.Encode(ref e, NoReply, &stream);
        return e;
    }

    /// <summary>Starts a call without a reply (e.g. vkDestroyInstance).</summary>
    public VnEncoder BeginCommand(ulong requestSize) => Begin(0, requestSize, 0);

    private VnEncoder Begin(int prefix, ulong requestSize, ulong replySize)
    {
        int total = checked(prefix + (int)requestSize);
        if (_request.Length < total)
            _request = new byte[Math.Max(total, _request.Length * 2)];
        Array.Clear(_request, 0, total);
        _prefix = prefix;
        _requestSize = requestSize;
        _replySize = replySize;
        return new VnEncoder(_request.AsSpan(0, total), Filter);
    }

    /// <summary>
    /// Sends what <paramref name="e"/> holds as one SUBMIT_CMD2 on ring 0 with the session's sync,
    /// waits for the sync and returns a decoder over the reply (empty for a call without one).
    /// </summary>
    public VnDecoder Submit(in VnEncoder e)
    {
        ReadOnlySpan<byte> written = e.Written;
        _command = written.Length >= _prefix + 4
            ? CommandName(BinaryPrimitives.ReadInt32LittleEndian(written[_prefix..]))
            : "(no command)";
        if ((ulong)(written.Length - _prefix) != _requestSize)
            throw new VenusCallException($"{_command}: encoded {written.Length - _prefix} bytes, but Size() said {_requestSize}");

        Span<byte> reply = _replyBlob.GetSpan(0, (int)_replySize);
        reply.Clear();
        ulong value = ++_syncValue;
        _client.SubmitCommands(written, ringIdx: 0, syncs: [(_sync, value)]);
        if (!_client.SyncWait(_sync, value, Timeout))
            throw new VenusCallException(
                $"{_command}: the host did not finish the submission within {Timeout.TotalSeconds:0} s (a command it found fatal stops the context)");
        return new VnDecoder(reply);
    }

    /// <summary>A vkSetReplyCommandStreamMESA pointing at this session's reply blob (for replays).</summary>
    public byte[] ReplyStreamCommand(ulong offset, ulong size)
    {
        var stream = new VkCommandStreamDescriptionMESA { resourceId = _replyBlob.ResourceId, offset = (nuint)offset, size = (nuint)size };
        byte[] bytes = new byte[vkSetReplyCommandStreamMESA.Size(&stream)];
        var e = new VnEncoder(bytes);
        vkSetReplyCommandStreamMESA.Encode(ref e, NoReply, &stream);
        return bytes;
    }

    /// <summary>
    /// Sends already-encoded commands as one SUBMIT_CMD2 on ring 0, waits for the host to finish them
    /// and returns the whole reply blob (for replays: the caller knows where the reply went).
    /// </summary>
    public ReadOnlySpan<byte> SubmitRaw(ReadOnlySpan<byte> commands, string what)
    {
        ulong value = ++_syncValue;
        _client.SubmitCommands(commands, ringIdx: 0, syncs: [(_sync, value)]);
        if (!_client.SyncWait(_sync, value, Timeout))
            throw new VenusCallException(
                $"{what}: the host did not finish it within {Timeout.TotalSeconds:0} s (a command it found fatal stops the context)");
        return _replyBlob.GetSpan(0, checked((int)_replyBlob.Size));
    }

    /// <summary>Fails unless the reply decoded cleanly and the call returned VK_SUCCESS.</summary>
    public void Check(in VnDecoder d, VkResult result)
    {
        Check(d);
        if (result != VkResult.VK_SUCCESS)
            throw new VenusCallException($"{_command} failed: {ResultName(result)}");
    }

    /// <summary>Fails unless the reply (of a void command) decoded cleanly.</summary>
    public void Check(in VnDecoder d)
    {
        if (d.Failed)
            throw new VenusCallException(
                $"{_command}: the reply did not decode: {d.Error} at byte {d.ErrorPosition} of {_replySize}");
    }

    public static string ResultName(VkResult result) =>
        Enum.GetName(result) is string name ? $"{name} ({(int)result})" : $"VkResult {(int)result}";

    private static string CommandName(int type) =>
        VenusProtocolInfo.CommandName(type) ?? $"command type {type}";

    public void Dispose()
    {
        // Leave the context tidy when the connection still works; the server frees it all anyway.
        try
        {
            _client.SyncUnref(_sync);
        }
        catch (VtestException)
        {
        }
        _replyBlob.Dispose();
        _client.Dispose();
    }
}
