using System.Buffers.Binary;
using System.Text;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.Protocol.Tests;

/// <summary>The three worked examples of venus-protocol.md §1.9, byte for byte.</summary>
public unsafe class WorkedExampleTests
{
    static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b).ToLowerInvariant();

    static void Expect(byte[] actual, params (int offset, string hex)[] rows)
    {
        int next = 0;
        foreach (var (offset, hex) in rows)
        {
            Assert.Equal(next, offset);
            var want = Convert.FromHexString(hex);
            Assert.True(actual.AsSpan(offset, want.Length).SequenceEqual(want),
                $"at {offset}: want {hex}, got {Hex(actual.AsSpan(offset, Math.Min(want.Length, actual.Length - offset)))}");
            next = offset + want.Length;
        }
        Assert.Equal(actual.Length, next);
    }

    [Fact]
    public void A_CreateInstanceWithOneExtensionIs156Bytes()
    {
        fixed (byte* app = "app\0"u8)
        fixed (byte* ext = "VK_KHR_surface\0"u8)
        {
            VkApplicationInfo ai = default;
            ai.sType = VkApplicationInfo.SType;
            ai.pApplicationName = app;
            ai.applicationVersion = 1;
            ai.apiVersion = 0x00401000;
            byte* names = ext;
            VkInstanceCreateInfo ci = default;
            ci.sType = VkInstanceCreateInfo.SType;
            ci.pApplicationInfo = &ai;
            ci.enabledExtensionCount = 1;
            ci.ppEnabledExtensionNames = &names;
            ulong id = 0x1000;
            var bytes = new byte[vkCreateInstance.Size(&ci, null, &id)];
            var e = new VnEncoder(bytes);
            vkCreateInstance.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, &ci, null, &id);
            Assert.Equal(bytes.Length, e.Position);
            Assert.Equal(156, bytes.Length);
            Expect(bytes,
                (0, "00000000"), (4, "01000000"), (8, "0100000000000000"), (16, "01000000"), (20, "0000000000000000"),
                (28, "00000000"), (32, "0100000000000000"), (40, "00000000"), (44, "0000000000000000"),
                (52, "0400000000000000"), (60, "61707000"), (64, "01000000"), (68, "0000000000000000"), (76, "00000000"),
                (80, "00104000"), (84, "00000000"), (88, "0000000000000000"), (96, "01000000"), (100, "0100000000000000"),
                (108, "0f00000000000000"), (116, Convert.ToHexString(Encoding.ASCII.GetBytes("VK_KHR_surface\0\0"))),
                (132, "0000000000000000"), (140, "0100000000000000"), (148, "0010000000000000"));

            // Mesa's form without extensions: 132 bytes, offset 96 = u32 0, 100 = u64 0.
            ci.enabledExtensionCount = 0;
            ci.ppEnabledExtensionNames = null;
            Assert.Equal(132UL, vkCreateInstance.Size(&ci, null, &id));

            // Reply (24 bytes): u32 0, i32 VkResult, u64 1, u64 id.
            Assert.Equal(24UL, vkCreateInstance.ReplySize(&ci, null, &id));
            var reply = Convert.FromHexString("00000000" + "f9ffffff" + "0100000000000000" + "0010000000000000");
            ulong got = 0;
            var d = new VnDecoder(reply);
            var result = vkCreateInstance.DecodeReply(ref d, &ci, null, &got);
            Assert.False(d.Failed);
            Assert.True(d.AtEnd);
            Assert.Equal(VkResult.VK_ERROR_EXTENSION_NOT_PRESENT, result);
            Assert.Equal(0x1000UL, got);
        }
    }

    [Fact]
    public void B_GetPhysicalDevicePropertiesRequestIs24AndReplyIs880Bytes()
    {
        const ulong phys = 0xabcdef;
        VkPhysicalDeviceProperties props = default;
        var req = new byte[vkGetPhysicalDeviceProperties.Size(phys, &props)];
        var e = new VnEncoder(req);
        vkGetPhysicalDeviceProperties.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, phys, &props);
        Assert.Equal(req.Length, e.Position);
        Expect(req, (0, "06000000"), (4, "01000000"), (8, "efcdab0000000000"), (16, "0100000000000000"));

        // The host's reply as the fact sheet lays it out, built from a filled struct.
        props.apiVersion = (1u << 22) | (3u << 12) | 230;
        props.driverVersion = 7;
        props.vendorID = 0x10005;
        props.deviceID = 0x42;
        props.deviceType = VkPhysicalDeviceType.VK_PHYSICAL_DEVICE_TYPE_CPU;
        var name = "llvmpipe (LLVM 15.0.6, 256 bits)"u8;
        for (int i = 0; i < name.Length; i++) props.deviceName[i] = name[i];
        for (int i = 0; i < 16; i++) props.pipelineCacheUUID[i] = (byte)(0xa0 + i);
        props.limits.maxImageDimension1D = 16384;
        props.limits.minMemoryMapAlignment = 64;
        props.sparseProperties.residencyNonResidentStrict = 1;
        Assert.Equal(880UL, vkGetPhysicalDeviceProperties.ReplySize(phys, &props));
        var reply = new byte[880];
        var re = new VnEncoder(reply);
        vkGetPhysicalDeviceProperties.EncodeReply(ref re, phys, &props);
        Assert.Equal(880, re.Position);
        uint U32(int o) => BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(o));
        ulong U64(int o) => BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(o));
        Assert.Equal(6u, U32(0));
        Assert.Equal(1UL, U64(4));
        Assert.Equal(props.apiVersion, U32(12));
        Assert.Equal(7u, U32(16));
        Assert.Equal(0x10005u, U32(20));
        Assert.Equal(0x42u, U32(24));
        Assert.Equal(4u, U32(28));
        Assert.Equal(256UL, U64(32));
        Assert.Equal("llvmpipe (LLVM 15.0.6, 256 bits)", Encoding.ASCII.GetString(reply, 40, name.Length));
        Assert.Equal(16UL, U64(296));
        Assert.Equal(0xa0, reply[304]);
        Assert.Equal(16384u, U32(320)); // limits start with maxImageDimension1D
        Assert.Equal(1u, U32(876));     // sparse properties: 5 × VkBool32 at 860, the fifth is residencyNonResidentStrict
        // decoding it back fills the caller's struct
        VkPhysicalDeviceProperties back = default;
        var d = new VnDecoder(reply);
        vkGetPhysicalDeviceProperties.DecodeReply(ref d, phys, &back);
        Assert.False(d.Failed);
        Assert.True(d.AtEnd);
        Assert.Equal(props.vendorID, back.vendorID);
        Assert.Equal(64UL, (ulong)back.limits.minMemoryMapAlignment);
        Assert.Equal(1u, back.sparseProperties.residencyNonResidentStrict);
    }

    [Fact]
    public void C_CommandBufferWithOneDraw()
    {
        const ulong cb = 0x77;
        VkCommandBufferBeginInfo begin = default;
        begin.sType = VkCommandBufferBeginInfo.SType;
        var stream = new byte[48 + 32 + 16];
        var e = new VnEncoder(stream);
        Assert.Equal(48UL, vkBeginCommandBuffer.Size(cb, &begin));
        vkBeginCommandBuffer.Encode(ref e, 0, cb, &begin);
        Assert.Equal(32UL, vkCmdDraw.Size(cb, 3, 1, 0, 0));
        vkCmdDraw.Encode(ref e, 0, cb, 3, 1, 0, 0);
        Assert.Equal(16UL, vkEndCommandBuffer.Size(cb));
        vkEndCommandBuffer.Encode(ref e, 0, cb);
        Expect(stream,
            (0, "5a000000"), (4, "00000000"), (8, "7700000000000000"), (16, "0100000000000000"), (24, "2a000000"),
            (28, "0000000000000000"), (36, "00000000"), (40, "0000000000000000"),
            (48, "6a000000"), (52, "00000000"), (56, "7700000000000000"), (64, "03000000"), (68, "01000000"), (72, "00000000"), (76, "00000000"),
            (80, "5b000000"), (84, "00000000"), (88, "7700000000000000"));
    }

    [Fact]
    public void ClearValueIsTag0ThenClearColorTag2()
    {
        // §1.5: every clear value is u32 0, u32 2, u64 4, 4 × u32 = 32 bytes; depth/stencil travel as raw bits.
        VkClearValue v = default;
        v.depthStencil.depth = 1.0f;
        v.depthStencil.stencil = 7;
        Assert.Equal(32UL, VkClearValueWire.Size(&v));
        var buf = new byte[32];
        var e = new VnEncoder(buf);
        VkClearValueWire.Encode(ref e, &v);
        Assert.Equal("00000000" + "02000000" + "0400000000000000" + "0000803f" + "07000000" + "00000000" + "00000000", Hex(buf));
    }
}
