using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using Venus.Protocol;
using Venus.Transport.Vtest;
using Xunit.Abstractions;

namespace Venus.Peers.Tests;

/// <summary>Our vtest client against virglrenderer 1.1.0's <c>virgl_test_server --venus</c>.</summary>
[Collection(PeersCollection.Name)]
public sealed class VirglRendererTests(PeersFixture peers, ITestOutputHelper output)
{
    private const uint VkCommandTypeSetReplyCommandStreamMESA = 178;
    private const uint VkCommandTypeEnumerateInstanceVersion = 137;
    private const uint VkCommandGenerateReplyBit = 0x1;

    private VtestClient Connect() =>
        VtestClient.Connect(peers.SocketPath, nameof(VirglRendererTests));

    /// <summary>
    /// §3.2 vkSetReplyCommandStreamMESA (header, pStream pointer marker, then
    /// VkCommandStreamDescriptionMESA { u32 resourceId; size_t offset; size_t size } with size_t
    /// as u64), then §6.4 step 10's vkEnumerateInstanceVersion (header with GENERATE_REPLY,
    /// pApiVersion marker), whose 20-byte reply lands at offset 0 of the resource.
    /// </summary>
    private static byte[] EnumerateInstanceVersionStream(uint replyResourceId)
    {
        byte[] stream = new byte[36 + 16];
        Span<byte> s = stream;
        BinaryPrimitives.WriteUInt32LittleEndian(s[0..], VkCommandTypeSetReplyCommandStreamMESA);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], replyResourceId);
        BinaryPrimitives.WriteUInt64LittleEndian(s[20..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[28..], 20);
        BinaryPrimitives.WriteUInt32LittleEndian(s[36..], VkCommandTypeEnumerateInstanceVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], VkCommandGenerateReplyBit);
        BinaryPrimitives.WriteUInt64LittleEndian(s[44..], 1);
        return stream;
    }

    [Fact]
    public void ChrootRunsTheExpectedVirglRenderer()
    {
        ProcessResult result = peers.RunInChroot("dpkg-query -W -f='${Version}' virgl-server");
        Assert.True(result.ExitCode == 0, result.ToString());
        output.WriteLine($"virgl-server {result.Stdout}");
        Assert.StartsWith("1.1.0", result.Stdout);
    }

    [Fact]
    public void HandshakeNegotiatesProtocol3And64Timelines()
    {
        using VtestClient client = Connect();
        Assert.Equal(3u, client.ProtocolVersion);
        Assert.Equal(64u, client.MaxTimelineCount);
    }

    /// <summary>virglrenderer does not know venus-host's parameter: "not valid", and the connection goes on (our ICD asks it).</summary>
    [Fact]
    public void SharesHostVisibleMemoryIsNotValidThereAndTheConnectionGoesOn()
    {
        using VtestClient client = Connect();
        Assert.Equal(0u, client.GetParameter(VtestParam.SharesHostVisibleMemory));
        Assert.Equal(1u, client.GetCapset().WireFormatVersion);
    }

    [Fact]
    public void CapsetIsWireFormat1WithVkXml1_3_269()
    {
        using VtestClient client = Connect();
        VenusCapset capset = client.GetCapset();
        output.WriteLine(capset.ToString());
        output.WriteLine($"vk.xml {VenusCapset.FormatVulkanVersion(capset.VkXmlVersion)}, {capset.ExtensionCount} extensions");

        Assert.Equal(1u, capset.WireFormatVersion);
        Assert.Equal("1.3.269", VenusCapset.FormatVulkanVersion(capset.VkXmlVersion));
        Assert.Equal(1u, capset.VkExtCommandSerializationSpecVersion);
        Assert.Equal(2u, capset.VkMesaVenusProtocolSpecVersion);
        Assert.True(capset.SupportsBlobId0);
        Assert.True(capset.ExtensionMask.IsValid);
        Assert.True(capset.ExtensionCount > 50, $"only {capset.ExtensionCount} extensions");
        // Fact sheet §0: capset words 37-39 = 1, 1, 0.
        Assert.True(capset.AllowVkWaitSyncs);
        Assert.True(capset.SupportsMultipleTimelines);
        Assert.False(capset.UseGuestVram);
    }

    [Fact]
    public void RingSizedShmemBlobIsMappedSharedAndReadWrite()
    {
        using VtestClient client = Connect();
        client.GetCapset();
        client.ContextInit();

        // Mesa's ring shmem (§6.4 step 7): HOST3D, exactly MAPPABLE, blob id 0, 131268 bytes.
        using VtestBlob blob = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 131268, 0);
        output.WriteLine(blob.ToString());
        Assert.NotEqual(0u, blob.ResourceId);
        Assert.True(blob.Fd >= 0);
        Assert.Equal(131268UL, blob.Size);

        Span<byte> memory = blob.Span;
        Assert.Equal(131268, memory.Length);
        Assert.True(memory.IndexOfAnyExcept((byte)0) < 0, "fresh shmem is not zero-filled");
        for (int i = 0; i < memory.Length; i++)
            memory[i] = (byte)(i * 7 + 3);
        for (int i = 0; i < memory.Length; i += 4093)
            Assert.Equal((byte)(i * 7 + 3), memory[i]);

        // The mapping is MAP_SHARED: the bytes are visible through the fd itself.
        using var handle = new SafeFileHandle(blob.Fd, ownsHandle: false);
        byte[] viaFd = new byte[64];
        Assert.Equal(viaFd.Length, RandomAccess.Read(handle, viaFd, 131268 - 64));
        Assert.True(viaFd.AsSpan().SequenceEqual(memory[^64..]));
    }

    [Fact]
    public void VirtqueueVkEnumerateInstanceVersionRepliesIntoTheReplyBlob()
    {
        using VtestClient client = Connect();
        client.GetCapset();
        client.ContextInit();
        using VtestBlob reply = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0);

        byte[] stream = EnumerateInstanceVersionStream(reply.ResourceId);
        var stopwatch = Stopwatch.StartNew();
        client.SubmitCommands(stream);

        // The vtest server forwards the stream to its render server asynchronously and no sync
        // is attached here, so poll the reply with a deadline. It is encoded in order, so the
        // version, its last field, lands last.
        Span<byte> bytes = reply.GetSpan(0, 20);
        while (Volatile.Read(ref Unsafe.As<byte, uint>(ref bytes[16])) == 0)
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10),
                $"no reply within 10 s; server log:\n{peers.ReadServerLog()}");
            Thread.Sleep(1);
        }
        output.WriteLine($"reply after {stopwatch.Elapsed.TotalMilliseconds:0.0} ms: {Convert.ToHexString(bytes)}");

        Assert.Equal(VkCommandTypeEnumerateInstanceVersion, BinaryPrimitives.ReadUInt32LittleEndian(bytes[0..]));
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(bytes[4..])); // VK_SUCCESS
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..])); // pApiVersion present
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]);
        output.WriteLine($"vkEnumerateInstanceVersion = {VenusCapset.FormatVulkanVersion(version)} (0x{version:x})");
        Assert.Equal(1u, (version >> 22) & 0x7F);
        Assert.True(((version >> 12) & 0x3FF) >= 1, $"version {VenusCapset.FormatVulkanVersion(version)} < 1.1");
        Assert.True(peers.IsServerAlive, peers.ReadServerLog());
    }

    [Fact]
    public void SyncCreateWriteReadWaitRoundTrip()
    {
        using VtestClient client = Connect();
        client.GetCapset();
        client.ContextInit();

        uint sync = client.SyncCreate(5);
        Assert.NotEqual(0u, sync);
        Assert.Equal(5UL, client.SyncRead(sync));

        client.SyncWrite(sync, 0x1_0000_0009);
        Assert.Equal(0x1_0000_0009UL, client.SyncRead(sync));

        Assert.True(client.SyncWait(sync, 0x1_0000_0009, TimeSpan.FromSeconds(5)));
        Assert.True(client.SyncWait(sync, 7, TimeSpan.Zero));

        var stopwatch = Stopwatch.StartNew();
        Assert.False(client.SyncWait(sync, 0x1_0000_000A, TimeSpan.FromMilliseconds(200)));
        Assert.InRange(stopwatch.ElapsedMilliseconds, 150, 5000);

        // A write from another thread wakes a pending wait.
        var writer = new Thread(() =>
        {
            Thread.Sleep(100);
            client.SyncWrite(sync, 0x1_0000_000A);
        });
        writer.Start();
        Assert.True(client.SyncWait(sync, 0x1_0000_000A, TimeSpan.FromSeconds(10)));
        Assert.True(writer.Join(TimeSpan.FromSeconds(10)));

        client.SyncUnref(sync);
        Assert.True(peers.IsServerAlive, peers.ReadServerLog());
    }

    [Fact]
    public void SyncWaitAnyIsReadyWhenOneSyncIsReached()
    {
        using VtestClient client = Connect();
        client.ContextInit();
        uint a = client.SyncCreate(0);
        uint b = client.SyncCreate(0);
        client.SyncWrite(b, 3);

        Assert.False(client.SyncWait([(a, 1), (b, 3)], TimeSpan.FromMilliseconds(50)));
        Assert.True(client.SyncWait([(a, 1), (b, 3)], TimeSpan.FromSeconds(5), waitAny: true));

        client.SyncUnref(a);
        client.SyncUnref(b);
    }

    [Fact]
    public void SubmitSignalsItsSyncOnlyAfterTheStreamWasDecoded()
    {
        using VtestClient client = Connect();
        client.GetCapset();
        client.ContextInit();
        using VtestBlob reply = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0);
        byte[] stream = EnumerateInstanceVersionStream(reply.ResourceId);

        // Ring 0 is the CPU timeline: its fence retires once the render server has decoded the
        // stream, so the reply must be in place whenever the sync has signalled.
        var stopwatch = Stopwatch.StartNew();
        const int rounds = 100;
        for (int round = 0; round < rounds; round++)
        {
            reply.Span.Clear();
            uint sync = client.SyncCreate(0);
            client.SubmitCommands(stream, ringIdx: 0, syncs: [(sync, 1)]);
            Assert.True(client.SyncWait(sync, 1, TimeSpan.FromSeconds(10)), peers.ReadServerLog());
            Assert.True(BinaryPrimitives.ReadUInt32LittleEndian(reply.Span[16..]) != 0,
                $"round {round}: the sync signalled before the reply was written");
            client.SyncUnref(sync);
        }
        output.WriteLine($"{rounds} submit + sync round trips in {stopwatch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void SubmitOnARingWithoutAQueueNeverSignals()
    {
        using VtestClient client = Connect();
        client.GetCapset();
        client.ContextInit();
        uint sync = client.SyncCreate(0);

        // vkr accepts ring_idx ≥ 1 only for a timeline bound to a device queue; the render server
        // logs "submit_fence: invalid ring_idx 1" and the fence never retires. The vtest
        // connection itself stays up.
        client.SubmitCommands([], ringIdx: 1, syncs: [(sync, 1)]);
        Assert.False(client.SyncWait(sync, 1, TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0UL, client.SyncRead(sync));
        string log = peers.ReadServerLog();
        output.WriteLine(log);
        Assert.Contains("invalid ring_idx 1", log);
    }

    [Fact]
    public void BlobDisposeUnrefsTheResource()
    {
        using VtestClient client = Connect();
        client.ContextInit();
        VtestBlob blob = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0);
        uint first = blob.ResourceId;
        blob.Dispose();
        Assert.True(blob.IsDisposed);
        Assert.Equal(-1, blob.Fd);
        Assert.Throws<ObjectDisposedException>(() => blob.Span.Length);
        blob.Dispose(); // idempotent

        // The connection is still healthy after the RESOURCE_UNREF.
        using VtestBlob second = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0);
        output.WriteLine($"first resource {first}, second {second.ResourceId}");
        Assert.Equal(0UL, client.SyncRead(client.SyncCreate(0)));
    }

    [Fact]
    public void ServerDroppingTheClientIsAConnectionClosedError()
    {
        using VtestClient client = Connect();
        client.ContextInit();
        // SYNC_READ of an unknown sync fails on the server, which then disconnects the client (§6.1).
        var error = Assert.Throws<VtestException>(() => client.SyncRead(0xDEAD));
        output.WriteLine(error.Message);
        Assert.Equal(VtestErrorKind.ConnectionClosed, error.Kind);
        Assert.Contains(peers.SocketPath, error.Message);

        var after = Assert.Throws<VtestException>(() => client.SyncCreate(0));
        Assert.Equal(VtestErrorKind.Faulted, after.Kind);
        Assert.True(peers.IsServerAlive, "the server itself must survive a dropped client");
    }
}
