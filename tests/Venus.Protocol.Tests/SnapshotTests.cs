using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.Protocol.Tests;

/// <summary>
/// Snapshot tests of encoded request streams for representative calls (approved files in Snapshots/,
/// see <see cref="SnapshotAssert"/>). Every argument is fixed, so a change in the encoder shows up as a
/// snapshot diff. Where docs/venus-protocol.md gives sizes or bytes, or where they follow directly from
/// its rules (§1.1–§1.6, §3, §4.1), the test also asserts them explicitly; command type values are
/// the ones of docs/venus-command-types.csv.
/// </summary>
public unsafe class SnapshotTests
{
    const VkCommandFlagBitsEXT Reply = VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT;
    const VkCommandFlagBitsEXT NoReply = 0;

    // ---- small helpers -------------------------------------------------------------------------

    /// <summary>Zeroed native memory for argument structs, arrays and strings; freed at Dispose.</summary>
    sealed class Native : IDisposable
    {
        readonly List<nint> _blocks = new();

        public T* Alloc<T>(int count = 1) where T : unmanaged
        {
            var p = NativeMemory.AllocZeroed((nuint)(count * sizeof(T)));
            _blocks.Add((nint)p);
            return (T*)p;
        }

        public T* Array<T>(params T[] items) where T : unmanaged
        {
            var p = Alloc<T>(Math.Max(1, items.Length));
            for (int i = 0; i < items.Length; i++) p[i] = items[i];
            return p;
        }

        /// <summary>A NUL-terminated ASCII copy of s.</summary>
        public byte* Str(string s)
        {
            var bytes = Encoding.ASCII.GetBytes(s);
            var p = Alloc<byte>(bytes.Length + 1);
            for (int i = 0; i < bytes.Length; i++) p[i] = bytes[i];
            return p;
        }

        public byte** Strs(params string[] items)
        {
            var p = (byte**)Alloc<nint>(Math.Max(1, items.Length));
            for (int i = 0; i < items.Length; i++) p[i] = Str(items[i]);
            return p;
        }

        public void Dispose()
        {
            foreach (var p in _blocks) NativeMemory.Free((void*)p);
            _blocks.Clear();
        }
    }

    static uint U32(byte[] b, int o) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(o));
    static int I32(byte[] b, int o) => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(o));
    static ulong U64(byte[] b, int o) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(o));
    static float F32(byte[] b, int o) => BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(o));

    /// <summary>Command header of §2.1: u32 VkCommandTypeEXT, u32 VkCommandFlagsEXT.</summary>
    static void Header(byte[] b, int o, uint type, uint flags)
    {
        Assert.Equal(type, U32(b, o));
        Assert.Equal(flags, U32(b, o + 4));
    }

    /// <summary>A string of §1.4 at offset o: u64 strlen+1, bytes with NUL, zero padding; returns the offset after it.</summary>
    static int String(byte[] b, int o, string s)
    {
        Assert.Equal((ulong)s.Length + 1, U64(b, o));
        Assert.Equal(s, Encoding.ASCII.GetString(b, o + 8, s.Length));
        int padded = (s.Length + 1 + 3) & ~3;
        for (int i = s.Length; i < padded; i++) Assert.Equal(0, b[o + 8 + i]);
        return o + 8 + padded;
    }

    static void Done(byte[] buf, ref VnEncoder e, ulong sizeFn)
    {
        Assert.Equal((ulong)buf.Length, sizeFn);
        Assert.Equal(buf.Length, e.Position);
    }

    // ---- instance and physical device ----------------------------------------------------------

    [Fact]
    public void Snapshot_vkCreateInstance_AppAndEngine()
    {
        using var n = new Native();
        var ai = n.Alloc<VkApplicationInfo>();
        ai->sType = VkApplicationInfo.SType;
        ai->pApplicationName = n.Str("venus-snapshot");   // 14 + NUL = 15 -> 16 bytes
        ai->applicationVersion = 3;
        ai->pEngineName = n.Str("VenusSharp");            // 10 + NUL = 11 -> 12 bytes
        ai->engineVersion = 1u << 22;                     // 1.0.0
        ai->apiVersion = (1u << 22) | (3u << 12);         // 1.3.0 = 0x00403000
        VkInstanceCreateInfo ci = default;
        ci.sType = VkInstanceCreateInfo.SType;
        ci.pApplicationInfo = ai;                         // Mesa's form: no layers, no extensions
        ulong id = 0x1000;

        var size = vkCreateInstance.Size(&ci, null, &id);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateInstance.Encode(ref e, Reply, &ci, null, &id);
        Done(b, ref e, size);

        Assert.Equal(156, b.Length);
        Header(b, 0, 0, 1);
        Assert.Equal(1UL, U64(b, 8));           // pCreateInfo present
        Assert.Equal(1, I32(b, 16));            // INSTANCE_CREATE_INFO
        Assert.Equal(0UL, U64(b, 20));          // pNext NULL
        Assert.Equal(1UL, U64(b, 32));          // pApplicationInfo present
        Assert.Equal(0, I32(b, 40));            // APPLICATION_INFO
        int o = String(b, 52, "venus-snapshot");
        Assert.Equal(76, o);
        Assert.Equal(3u, U32(b, 76));
        o = String(b, 80, "VenusSharp");
        Assert.Equal(100, o);
        Assert.Equal(0x00400000u, U32(b, 100));
        Assert.Equal(0x00403000u, U32(b, 104));
        Assert.Equal(0u, U32(b, 108)); Assert.Equal(0UL, U64(b, 112));   // no layers
        Assert.Equal(0u, U32(b, 120)); Assert.Equal(0UL, U64(b, 124));   // no extensions
        Assert.Equal(0UL, U64(b, 132));                                  // pAllocator
        Assert.Equal(1UL, U64(b, 140)); Assert.Equal(0x1000UL, U64(b, 148));

        SnapshotAssert.Match("vkCreateInstance_AppAndEngine", b,
            "app \"venus-snapshot\" v3, engine \"VenusSharp\" 1.0.0, apiVersion 1.3, no layers/extensions, instance id 0x1000");
    }

    [Fact]
    public void Snapshot_vkEnumeratePhysicalDevices_CountQuery()
    {
        uint count = 0;
        var size = vkEnumeratePhysicalDevices.Size(0x1000, &count, null);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkEnumeratePhysicalDevices.Encode(ref e, Reply, 0x1000, &count, null);
        Done(b, ref e, size);

        // u32 2, u32 1, u64 instance, u64 1 + u32 count (in/out, §1.2), u64 0 (NULL output array)
        Assert.Equal(36, b.Length);
        Header(b, 0, 2, 1);
        Assert.Equal(0x1000UL, U64(b, 8));
        Assert.Equal(1UL, U64(b, 16));
        Assert.Equal(0u, U32(b, 24));
        Assert.Equal(0UL, U64(b, 28));
        SnapshotAssert.Match("vkEnumeratePhysicalDevices_CountQuery", b,
            "instance 0x1000, *pPhysicalDeviceCount = 0, pPhysicalDevices NULL");
    }

    [Fact]
    public void Snapshot_vkEnumeratePhysicalDevices_List()
    {
        uint count = 2;
        ulong* ids = stackalloc ulong[2] { 0x2001, 0x2002 };   // guest-chosen ids (§1.7)
        var size = vkEnumeratePhysicalDevices.Size(0x1000, &count, ids);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkEnumeratePhysicalDevices.Encode(ref e, Reply, 0x1000, &count, ids);
        Done(b, ref e, size);

        Assert.Equal(52, b.Length);
        Header(b, 0, 2, 1);
        Assert.Equal(2u, U32(b, 24));
        Assert.Equal(2UL, U64(b, 28));          // u64 array size
        Assert.Equal(0x2001UL, U64(b, 36));
        Assert.Equal(0x2002UL, U64(b, 44));
        SnapshotAssert.Match("vkEnumeratePhysicalDevices_List", b,
            "instance 0x1000, count 2, the guest's physical-device ids 0x2001, 0x2002");
    }

    [Fact]
    public void Snapshot_vkGetPhysicalDeviceProperties2_Vulkan11And12Chain()
    {
        VkPhysicalDeviceVulkan12Properties p12 = default;
        p12.sType = VkPhysicalDeviceVulkan12Properties.SType;
        p12.driverID = (VkDriverId)99;            // output values must not travel (§1.6)
        p12.maxTimelineSemaphoreValueDifference = ulong.MaxValue;
        VkPhysicalDeviceVulkan11Properties p11 = default;
        p11.sType = VkPhysicalDeviceVulkan11Properties.SType;
        p11.pNext = &p12;
        p11.subgroupSize = 64;
        VkPhysicalDeviceProperties2 p2 = default;
        p2.sType = VkPhysicalDeviceProperties2.SType;
        p2.pNext = &p11;
        p2.properties.apiVersion = 0xdeadbeef;

        var size = vkGetPhysicalDeviceProperties2.Size(0x2001, &p2);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkGetPhysicalDeviceProperties2.Encode(ref e, Reply, 0x2001, &p2);
        Done(b, ref e, size);

        // §1.5/§1.6: sType, then the partial chain (u64 1, sType, next…, partial self), partial self.
        // Every member of the three structs is a scalar or fixed scalar array -> partial selves are empty.
        Assert.Equal(60, b.Length);
        Header(b, 0, 148, 1);
        Assert.Equal(0x2001UL, U64(b, 8));
        Assert.Equal(1UL, U64(b, 16));
        Assert.Equal(1000059001, I32(b, 24));   // PHYSICAL_DEVICE_PROPERTIES_2
        Assert.Equal(1UL, U64(b, 28));
        Assert.Equal(50, I32(b, 36));           // PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES
        Assert.Equal(1UL, U64(b, 40));
        Assert.Equal(52, I32(b, 48));           // PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES
        Assert.Equal(0UL, U64(b, 52));          // end of chain
        SnapshotAssert.Match("vkGetPhysicalDeviceProperties2_Vulkan11And12Chain", b,
            "physicalDevice 0x2001; pNext Vulkan11Properties -> Vulkan12Properties; partial encode: only the chain's shape travels");
    }

    [Fact]
    public void Snapshot_vkGetPhysicalDeviceFeatures2_Vulkan13()
    {
        VkPhysicalDeviceVulkan13Features f13 = default;
        f13.sType = VkPhysicalDeviceVulkan13Features.SType;
        f13.dynamicRendering = 1;                 // an output: must not travel
        VkPhysicalDeviceFeatures2 f2 = default;
        f2.sType = VkPhysicalDeviceFeatures2.SType;
        f2.pNext = &f13;

        var size = vkGetPhysicalDeviceFeatures2.Size(0x2001, &f2);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkGetPhysicalDeviceFeatures2.Encode(ref e, Reply, 0x2001, &f2);
        Done(b, ref e, size);

        Assert.Equal(48, b.Length);
        Header(b, 0, 147, 1);
        Assert.Equal(1UL, U64(b, 16));
        Assert.Equal(1000059000, I32(b, 24));   // PHYSICAL_DEVICE_FEATURES_2
        Assert.Equal(1UL, U64(b, 28));
        Assert.Equal(53, I32(b, 36));           // PHYSICAL_DEVICE_VULKAN_1_3_FEATURES
        Assert.Equal(0UL, U64(b, 40));
        SnapshotAssert.Match("vkGetPhysicalDeviceFeatures2_Vulkan13", b,
            "physicalDevice 0x2001; pNext Vulkan13Features; partial encode (VkBool32 members skipped)");
    }

    [Fact]
    public void Snapshot_vkGetPhysicalDeviceFeatures2_Vulkan13DroppedForVulkan12Peer()
    {
        // §1.5: the encoder drops a known struct whose API version exceeds the peer's vk.xml version.
        var peer = new VnProtocolFilter((1u << 22) | (2u << 12) | 182, ReadOnlySpan<uint>.Empty);
        VkPhysicalDeviceVulkan13Features f13 = default;
        f13.sType = VkPhysicalDeviceVulkan13Features.SType;
        VkPhysicalDeviceFeatures2 f2 = default;
        f2.sType = VkPhysicalDeviceFeatures2.SType;
        f2.pNext = &f13;

        var size = vkGetPhysicalDeviceFeatures2.Size(0x2001, &f2, peer);
        var b = new byte[size];
        var e = new VnEncoder(b, peer);
        vkGetPhysicalDeviceFeatures2.Encode(ref e, Reply, 0x2001, &f2);
        Done(b, ref e, size);

        Assert.Equal(36, b.Length);
        Assert.Equal(1000059000, I32(b, 24));
        Assert.Equal(0UL, U64(b, 28));          // chain empty: the 1.3 struct was dropped
        SnapshotAssert.Match("vkGetPhysicalDeviceFeatures2_Vulkan13DroppedForVulkan12Peer", b,
            "as vkGetPhysicalDeviceFeatures2_Vulkan13, encoded for a peer whose vk.xml is 1.2.182: the 1.3 struct is filtered out");
    }

    // ---- device, queues, memory, buffers ---------------------------------------------------------

    [Fact]
    public void Snapshot_vkCreateDevice_TwoQueueFamiliesExtensionsVulkan12Features()
    {
        using var n = new Native();
        var f12 = n.Alloc<VkPhysicalDeviceVulkan12Features>();
        f12->sType = VkPhysicalDeviceVulkan12Features.SType;
        f12->descriptorIndexing = 1;         // member index 9 of 0..46
        f12->timelineSemaphore = 1;          // member index 37
        f12->bufferDeviceAddress = 1;        // member index 38
        var q = n.Alloc<VkDeviceQueueCreateInfo>(2);
        q[0].sType = VkDeviceQueueCreateInfo.SType;
        q[0].queueFamilyIndex = 0;
        q[0].queueCount = 2;
        q[0].pQueuePriorities = n.Array(1.0f, 0.5f);
        q[1].sType = VkDeviceQueueCreateInfo.SType;
        q[1].queueFamilyIndex = 1;
        q[1].queueCount = 1;
        q[1].pQueuePriorities = n.Array(0.25f);
        var ci = n.Alloc<VkDeviceCreateInfo>();
        ci->sType = VkDeviceCreateInfo.SType;
        ci->pNext = f12;
        ci->queueCreateInfoCount = 2;
        ci->pQueueCreateInfos = q;
        ci->enabledExtensionCount = 2;
        ci->ppEnabledExtensionNames = n.Strs("VK_KHR_maintenance4", "VK_EXT_custom_border_color");
        ulong dev = 0x3000;

        var size = vkCreateDevice.Size(0x2001, ci, null, &dev);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateDevice.Encode(ref e, Reply, 0x2001, ci, null, &dev);
        Done(b, ref e, size);

        Header(b, 0, 11, 1);
        Assert.Equal(0x2001UL, U64(b, 8));
        Assert.Equal(1UL, U64(b, 16));
        Assert.Equal(3, I32(b, 24));            // DEVICE_CREATE_INFO
        Assert.Equal(1UL, U64(b, 28));          // pNext: Vulkan12Features
        Assert.Equal(51, I32(b, 36));
        Assert.Equal(0UL, U64(b, 40));          // its pNext: end
        // 47 VkBool32 at 48..236
        for (int i = 0; i < 47; i++)
            Assert.Equal(i is 9 or 37 or 38 ? 1u : 0u, U32(b, 48 + 4 * i));
        Assert.Equal(0u, U32(b, 236));          // flags
        Assert.Equal(2u, U32(b, 240));          // queueCreateInfoCount
        Assert.Equal(2UL, U64(b, 244));         // array size
        // queue 0 at 252: sType 2, pNext 0, flags, family 0, count 2, u64 2, 1.0, 0.5 = 40 bytes
        Assert.Equal(2, I32(b, 252)); Assert.Equal(0UL, U64(b, 256));
        Assert.Equal(0u, U32(b, 268)); Assert.Equal(2u, U32(b, 272)); Assert.Equal(2UL, U64(b, 276));
        Assert.Equal(1.0f, F32(b, 284)); Assert.Equal(0.5f, F32(b, 288));
        // queue 1 at 292: 36 bytes
        Assert.Equal(2, I32(b, 292)); Assert.Equal(1u, U32(b, 308)); Assert.Equal(1u, U32(b, 312));
        Assert.Equal(1UL, U64(b, 316)); Assert.Equal(0.25f, F32(b, 324));
        Assert.Equal(0u, U32(b, 328)); Assert.Equal(0UL, U64(b, 332));   // no layers
        Assert.Equal(2u, U32(b, 340)); Assert.Equal(2UL, U64(b, 344));   // 2 extension names
        int o = String(b, 352, "VK_KHR_maintenance4");                   // 20 bytes, no pad
        Assert.Equal(380, o);
        o = String(b, o, "VK_EXT_custom_border_color");                  // 27 -> 28
        Assert.Equal(416, o);
        Assert.Equal(0UL, U64(b, 416));         // pEnabledFeatures NULL
        Assert.Equal(0UL, U64(b, 424));         // pAllocator
        Assert.Equal(1UL, U64(b, 432)); Assert.Equal(0x3000UL, U64(b, 440));
        Assert.Equal(448, b.Length);
        SnapshotAssert.Match("vkCreateDevice_TwoQueueFamiliesExtensionsVulkan12Features", b,
            "physicalDevice 0x2001; queues: family 0 x2 (1.0, 0.5), family 1 x1 (0.25);\n" +
            "extensions VK_KHR_maintenance4, VK_EXT_custom_border_color; pNext Vulkan12Features{descriptorIndexing, timelineSemaphore, bufferDeviceAddress}; device id 0x3000");
    }

    [Fact]
    public void Snapshot_vkGetDeviceQueue2_TimelineInfo()
    {
        VkDeviceQueueTimelineInfoMESA tl = default;
        tl.sType = VkDeviceQueueTimelineInfoMESA.SType;
        tl.ringIdx = 3;
        VkDeviceQueueInfo2 qi = default;
        qi.sType = VkDeviceQueueInfo2.SType;
        qi.pNext = &tl;
        qi.queueFamilyIndex = 1;
        qi.queueIndex = 0;
        ulong queue = 0x3100;

        var size = vkGetDeviceQueue2.Size(0x3000, &qi, &queue);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkGetDeviceQueue2.Encode(ref e, NoReply, 0x3000, &qi, &queue);
        Done(b, ref e, size);

        Assert.Equal(80, b.Length);
        Header(b, 0, 155, 0);
        Assert.Equal(1000145003, I32(b, 24));   // DEVICE_QUEUE_INFO_2
        Assert.Equal(1UL, U64(b, 28));
        Assert.Equal(1000384005, I32(b, 36));   // DEVICE_QUEUE_TIMELINE_INFO_MESA (§3.1)
        Assert.Equal(0UL, U64(b, 40));
        Assert.Equal(3u, U32(b, 48));           // ringIdx (the chained struct's self, before the parent's)
        Assert.Equal(0u, U32(b, 52));           // flags
        Assert.Equal(1u, U32(b, 56));           // queueFamilyIndex
        Assert.Equal(0u, U32(b, 60));           // queueIndex
        Assert.Equal(1UL, U64(b, 64)); Assert.Equal(0x3100UL, U64(b, 72));
        SnapshotAssert.Match("vkGetDeviceQueue2_TimelineInfo", b,
            "device 0x3000, family 1 index 0, pNext DeviceQueueTimelineInfoMESA{ringIdx 3}, queue id 0x3100, no reply");
    }

    [Fact]
    public void Snapshot_vkAllocateMemory_Dedicated()
    {
        VkMemoryDedicatedAllocateInfo ded = default;
        ded.sType = VkMemoryDedicatedAllocateInfo.SType;
        ded.buffer = 0x4000;
        VkMemoryAllocateInfo ai = default;
        ai.sType = VkMemoryAllocateInfo.SType;
        ai.pNext = &ded;
        ai.allocationSize = 0x10000;
        ai.memoryTypeIndex = 2;
        ulong mem = 0x4100;

        var size = vkAllocateMemory.Size(0x3000, &ai, null, &mem);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkAllocateMemory.Encode(ref e, Reply, 0x3000, &ai, null, &mem);
        Done(b, ref e, size);

        Assert.Equal(100, b.Length);
        Header(b, 0, 21, 1);
        Assert.Equal(5, I32(b, 24));            // MEMORY_ALLOCATE_INFO
        Assert.Equal(1UL, U64(b, 28));
        Assert.Equal(1000127001, I32(b, 36));   // MEMORY_DEDICATED_ALLOCATE_INFO
        Assert.Equal(0UL, U64(b, 40));
        Assert.Equal(0UL, U64(b, 48));          // image
        Assert.Equal(0x4000UL, U64(b, 56));     // buffer
        Assert.Equal(0x10000UL, U64(b, 64));    // allocationSize at a 4-aligned-only offset is fine (§1.1)
        Assert.Equal(2u, U32(b, 72));
        Assert.Equal(0UL, U64(b, 76));
        Assert.Equal(1UL, U64(b, 84)); Assert.Equal(0x4100UL, U64(b, 92));
        SnapshotAssert.Match("vkAllocateMemory_Dedicated", b,
            "device 0x3000, 64 KiB of type 2, dedicated to buffer 0x4000, memory id 0x4100");
    }

    [Fact]
    public void Snapshot_vkCreateBuffer_Concurrent()
    {
        uint* families = stackalloc uint[2] { 0, 2 };
        VkBufferCreateInfo ci = default;
        ci.sType = VkBufferCreateInfo.SType;
        ci.size = 65536;
        ci.usage = 0x80 | 0x2;                  // VERTEX_BUFFER | TRANSFER_DST
        ci.sharingMode = VkSharingMode.VK_SHARING_MODE_CONCURRENT;
        ci.queueFamilyIndexCount = 2;
        ci.pQueueFamilyIndices = families;
        ulong buf = 0x4000;

        var size = vkCreateBuffer.Size(0x3000, &ci, null, &buf);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateBuffer.Encode(ref e, Reply, 0x3000, &ci, null, &buf);
        Done(b, ref e, size);

        Assert.Equal(100, b.Length);
        Header(b, 0, 50, 1);
        Assert.Equal(12, I32(b, 24));           // BUFFER_CREATE_INFO
        Assert.Equal(0UL, U64(b, 28));
        Assert.Equal(65536UL, U64(b, 40));
        Assert.Equal(0x82u, U32(b, 48));
        Assert.Equal(1, I32(b, 52));            // CONCURRENT
        Assert.Equal(2u, U32(b, 56));
        Assert.Equal(2UL, U64(b, 60));          // array size
        Assert.Equal(0u, U32(b, 68)); Assert.Equal(2u, U32(b, 72));
        Assert.Equal(0UL, U64(b, 76));
        Assert.Equal(1UL, U64(b, 84)); Assert.Equal(0x4000UL, U64(b, 92));
        SnapshotAssert.Match("vkCreateBuffer_Concurrent", b,
            "device 0x3000, 64 KiB VERTEX_BUFFER|TRANSFER_DST, CONCURRENT over families 0 and 2, buffer id 0x4000");
    }

    [Fact]
    public void Snapshot_vkCreateBuffer_ExclusiveIgnoresQueueFamilyIndices()
    {
        uint* families = stackalloc uint[2] { 0, 2 };
        VkBufferCreateInfo ci = default;
        ci.sType = VkBufferCreateInfo.SType;
        ci.size = 65536;
        ci.usage = 0x80 | 0x2;
        ci.sharingMode = VkSharingMode.VK_SHARING_MODE_EXCLUSIVE;
        ci.queueFamilyIndexCount = 2;           // ignored by Vulkan for EXCLUSIVE ...
        ci.pQueueFamilyIndices = families;      // ... and so must not be followed (§1.8 conditional)
        ulong buf = 0x4001;

        var size = vkCreateBuffer.Size(0x3000, &ci, null, &buf);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateBuffer.Encode(ref e, Reply, 0x3000, &ci, null, &buf);
        Done(b, ref e, size);

        Assert.Equal(92, b.Length);
        Assert.Equal(0, I32(b, 52));            // EXCLUSIVE
        Assert.Equal(2u, U32(b, 56));           // the count member itself still travels
        Assert.Equal(0UL, U64(b, 60));          // pQueueFamilyIndices: u64 0, no elements
        Assert.Equal(0UL, U64(b, 68));          // pAllocator
        Assert.Equal(1UL, U64(b, 76)); Assert.Equal(0x4001UL, U64(b, 84));
        SnapshotAssert.Match("vkCreateBuffer_ExclusiveIgnoresQueueFamilyIndices", b,
            "as vkCreateBuffer_Concurrent but EXCLUSIVE with a non-NULL pQueueFamilyIndices (count 2): the array is not encoded; buffer id 0x4001");
    }

    // ---- shaders, layouts, descriptors, pipelines ---------------------------------------------------

    [Fact]
    public void Snapshot_vkCreateShaderModule_FiveWords()
    {
        uint* code = stackalloc uint[5] { 0x07230203, 0x00010000, 0x00080001, 16, 0 };  // a SPIR-V header
        VkShaderModuleCreateInfo ci = default;
        ci.sType = VkShaderModuleCreateInfo.SType;
        ci.codeSize = 20;
        ci.pCode = code;
        ulong module = 0x5000;

        var size = vkCreateShaderModule.Size(0x3000, &ci, null, &module);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateShaderModule.Encode(ref e, Reply, 0x3000, &ci, null, &module);
        Done(b, ref e, size);

        Assert.Equal(100, b.Length);
        Header(b, 0, 59, 1);
        Assert.Equal(16, I32(b, 24));           // SHADER_MODULE_CREATE_INFO
        Assert.Equal(20UL, U64(b, 40));         // size_t codeSize = u64 bytes
        Assert.Equal(5UL, U64(b, 48));          // pCode array size = codeSize/4 words (§1.3)
        Assert.Equal(0x07230203u, U32(b, 56));
        Assert.Equal(0u, U32(b, 72));
        Assert.Equal(1UL, U64(b, 84)); Assert.Equal(0x5000UL, U64(b, 92));
        SnapshotAssert.Match("vkCreateShaderModule_FiveWords", b,
            "device 0x3000, codeSize 20: SPIR-V header words 07230203 00010000 00080001 16 0, module id 0x5000");
    }

    [Fact]
    public void Snapshot_vkCreateDescriptorSetLayout_ImmutableSamplers()
    {
        using var n = new Native();
        var bindings = n.Alloc<VkDescriptorSetLayoutBinding>(3);
        bindings[0].binding = 0;
        bindings[0].descriptorType = VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
        bindings[0].descriptorCount = 1;
        bindings[0].stageFlags = 0x1;           // VERTEX
        bindings[1].binding = 1;
        bindings[1].descriptorType = VkDescriptorType.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
        bindings[1].descriptorCount = 2;
        bindings[1].stageFlags = 0x10;          // FRAGMENT
        bindings[1].pImmutableSamplers = n.Array<ulong>(0x5101, 0x5102);
        bindings[2].binding = 4;
        bindings[2].descriptorType = VkDescriptorType.VK_DESCRIPTOR_TYPE_SAMPLER;
        bindings[2].descriptorCount = 1;
        bindings[2].stageFlags = 0x10 | 0x20;   // FRAGMENT | COMPUTE
        bindings[2].pImmutableSamplers = n.Array<ulong>(0x5103);
        VkDescriptorSetLayoutCreateInfo ci = default;
        ci.sType = VkDescriptorSetLayoutCreateInfo.SType;
        ci.bindingCount = 3;
        ci.pBindings = bindings;
        ulong layout = 0x5200;

        var size = vkCreateDescriptorSetLayout.Size(0x3000, &ci, null, &layout);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateDescriptorSetLayout.Encode(ref e, Reply, 0x3000, &ci, null, &layout);
        Done(b, ref e, size);

        // bindings are sType-less structs: 4 u32 + (u64 0 | u64 n + n ids)
        Assert.Equal(8 + 8 + 8 + (4 + 8 + 4 + 4 + 8 + (24 + 40 + 32)) + 8 + 16, b.Length);
        Header(b, 0, 72, 1);
        Assert.Equal(32, I32(b, 24));           // DESCRIPTOR_SET_LAYOUT_CREATE_INFO
        Assert.Equal(3u, U32(b, 40)); Assert.Equal(3UL, U64(b, 44));
        Assert.Equal(6, I32(b, 56));            // binding 0: UNIFORM_BUFFER
        Assert.Equal(0UL, U64(b, 68));          // no immutable samplers
        Assert.Equal(1, I32(b, 80));            // binding 1: COMBINED_IMAGE_SAMPLER
        Assert.Equal(2UL, U64(b, 92)); Assert.Equal(0x5101UL, U64(b, 100)); Assert.Equal(0x5102UL, U64(b, 108));
        Assert.Equal(4u, U32(b, 116));          // binding 2 is binding number 4: SAMPLER
        Assert.Equal(1UL, U64(b, 132)); Assert.Equal(0x5103UL, U64(b, 140));
        SnapshotAssert.Match("vkCreateDescriptorSetLayout_ImmutableSamplers", b,
            "device 0x3000; bindings: 0 UBO x1 VERTEX; 1 COMBINED_IMAGE_SAMPLER x2 FRAGMENT immutable 0x5101,0x5102;\n" +
            "4 SAMPLER x1 FRAGMENT|COMPUTE immutable 0x5103; layout id 0x5200");
    }

    [Fact]
    public void Snapshot_vkUpdateDescriptorSets_ImageAndBufferWrites()
    {
        using var n = new Native();
        var img = n.Alloc<VkDescriptorImageInfo>();
        img->sampler = 0x5101;
        img->imageView = 0x5300;
        img->imageLayout = VkImageLayout.VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
        var bi = n.Alloc<VkDescriptorBufferInfo>();
        bi->buffer = 0x4000;
        bi->offset = 256;
        bi->range = 64;
        var w = n.Alloc<VkWriteDescriptorSet>(2);
        w[0].sType = VkWriteDescriptorSet.SType;
        w[0].dstSet = 0x5400;
        w[0].dstBinding = 1;
        w[0].descriptorCount = 1;
        w[0].descriptorType = VkDescriptorType.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
        w[0].pImageInfo = img;
        w[1].sType = VkWriteDescriptorSet.SType;
        w[1].dstSet = 0x5400;
        w[1].dstBinding = 0;
        w[1].descriptorCount = 1;
        w[1].descriptorType = VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
        w[1].pBufferInfo = bi;

        var size = vkUpdateDescriptorSets.Size(0x3000, 2, w, 0, null);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkUpdateDescriptorSets.Encode(ref e, NoReply, 0x3000, 2, w, 0, null);
        Done(b, ref e, size);

        // write = sType 4 + pNext 8 + dstSet 8 + 4 u32 16 + three arrays
        const int write0 = 4 + 8 + 8 + 16 + (8 + 20) + 8 + 8;   // image info: sampler, view, layout = 20
        const int write1 = 4 + 8 + 8 + 16 + 8 + (8 + 24) + 8;   // buffer info: buffer, offset, range = 24
        Assert.Equal(8 + 8 + 4 + 8 + write0 + write1 + 4 + 8, b.Length);
        Header(b, 0, 79, 0);
        Assert.Equal(2u, U32(b, 16)); Assert.Equal(2UL, U64(b, 20));
        Assert.Equal(35, I32(b, 28));           // WRITE_DESCRIPTOR_SET
        Assert.Equal(0x5400UL, U64(b, 40));
        Assert.Equal(1, I32(b, 60));            // COMBINED_IMAGE_SAMPLER
        Assert.Equal(1UL, U64(b, 64)); Assert.Equal(0x5101UL, U64(b, 72)); Assert.Equal(0x5300UL, U64(b, 80));
        Assert.Equal(5, I32(b, 88));            // SHADER_READ_ONLY_OPTIMAL
        Assert.Equal(0UL, U64(b, 92)); Assert.Equal(0UL, U64(b, 100));
        int w1 = 28 + write0;
        Assert.Equal(35, I32(b, w1));
        Assert.Equal(6, I32(b, w1 + 32));       // UNIFORM_BUFFER
        Assert.Equal(0UL, U64(b, w1 + 36));     // pImageInfo NULL
        Assert.Equal(1UL, U64(b, w1 + 44));
        Assert.Equal(0x4000UL, U64(b, w1 + 52)); Assert.Equal(256UL, U64(b, w1 + 60)); Assert.Equal(64UL, U64(b, w1 + 68));
        Assert.Equal(0UL, U64(b, w1 + 76));     // pTexelBufferView NULL
        Assert.Equal(0u, U32(b, w1 + write1)); Assert.Equal(0UL, U64(b, w1 + write1 + 4));
        SnapshotAssert.Match("vkUpdateDescriptorSets_ImageAndBufferWrites", b,
            "device 0x3000; set 0x5400: binding 1 combined image sampler (sampler 0x5101, view 0x5300, SHADER_READ_ONLY_OPTIMAL),\n" +
            "binding 0 uniform buffer (buffer 0x4000, offset 256, range 64); no copies; no reply");
    }

    [Fact]
    public void Snapshot_vkCreateComputePipelines_Specialization()
    {
        using var n = new Native();
        var entries = n.Alloc<VkSpecializationMapEntry>(2);
        entries[0].constantID = 0; entries[0].offset = 0; entries[0].size = 4;
        entries[1].constantID = 1; entries[1].offset = 4; entries[1].size = 4;
        var spec = n.Alloc<VkSpecializationInfo>();
        spec->mapEntryCount = 2;
        spec->pMapEntries = entries;
        spec->dataSize = 8;
        spec->pData = n.Array<uint>(64, 1);     // local size 64, a flag
        var ci = n.Alloc<VkComputePipelineCreateInfo>();
        ci->sType = VkComputePipelineCreateInfo.SType;
        ci->stage.sType = VkPipelineShaderStageCreateInfo.SType;
        ci->stage.stage = VkShaderStageFlagBits.VK_SHADER_STAGE_COMPUTE_BIT;
        ci->stage.module = 0x5000;
        ci->stage.pName = n.Str("main");
        ci->stage.pSpecializationInfo = spec;
        ci->layout = 0x5500;
        ci->basePipelineIndex = -1;
        ulong pipeline = 0x5600;

        var size = vkCreateComputePipelines.Size(0x3000, 0x5700, 1, ci, null, &pipeline);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateComputePipelines.Encode(ref e, Reply, 0x3000, 0x5700, 1, ci, null, &pipeline);
        Done(b, ref e, size);

        const int specSize = 4 + 8 + 2 * (4 + 4 + 8) + 8 + 8 + 8;             // 68
        const int stageSize = 4 + 8 + 4 + 4 + 8 + (8 + 8) + 8 + specSize;      // 120
        const int ciSize = 4 + 8 + 4 + stageSize + 8 + 8 + 4;                  // 156
        Assert.Equal(8 + 8 + 8 + 4 + 8 + ciSize + 8 + 8 + 8, b.Length);        // 216
        Header(b, 0, 66, 1);
        Assert.Equal(0x5700UL, U64(b, 16));     // pipelineCache
        Assert.Equal(1u, U32(b, 24)); Assert.Equal(1UL, U64(b, 28));
        Assert.Equal(29, I32(b, 36));           // COMPUTE_PIPELINE_CREATE_INFO
        Assert.Equal(18, I32(b, 52));           // stage: PIPELINE_SHADER_STAGE_CREATE_INFO
        Assert.Equal(0x20u, U32(b, 68));        // COMPUTE
        int o = String(b, 80, "main");          // 5 bytes -> 8
        Assert.Equal(96, o);
        Assert.Equal(1UL, U64(b, 96));          // pSpecializationInfo present
        Assert.Equal(2u, U32(b, 104)); Assert.Equal(2UL, U64(b, 108));
        Assert.Equal(1u, U32(b, 132)); Assert.Equal(4u, U32(b, 136)); Assert.Equal(4UL, U64(b, 140));  // entry 1
        Assert.Equal(8UL, U64(b, 148));         // size_t dataSize
        Assert.Equal(8UL, U64(b, 156));         // blob: u64 byte count + bytes (§1.4)
        Assert.Equal(64u, U32(b, 164)); Assert.Equal(1u, U32(b, 168));
        Assert.Equal(0x5500UL, U64(b, 172));    // layout
        Assert.Equal(-1, I32(b, 188));          // basePipelineIndex
        Assert.Equal(0UL, U64(b, 192));         // pAllocator
        Assert.Equal(1UL, U64(b, 200)); Assert.Equal(0x5600UL, U64(b, 208));   // pPipelines: u64 count + ids
        SnapshotAssert.Match("vkCreateComputePipelines_Specialization", b,
            "device 0x3000, cache 0x5700, 1 pipeline: module 0x5000 \"main\", specialization {id0 @0 4B, id1 @4 4B} data (64, 1),\n" +
            "layout 0x5500, base -1; pipeline id 0x5600");
    }

    [Fact]
    public void Snapshot_vkCreateGraphicsPipelines_FullState()
    {
        using var n = new Native();
        var stages = n.Alloc<VkPipelineShaderStageCreateInfo>(2);
        stages[0].sType = VkPipelineShaderStageCreateInfo.SType;
        stages[0].stage = VkShaderStageFlagBits.VK_SHADER_STAGE_VERTEX_BIT;
        stages[0].module = 0x5001;
        stages[0].pName = n.Str("main");
        stages[1].sType = VkPipelineShaderStageCreateInfo.SType;
        stages[1].stage = VkShaderStageFlagBits.VK_SHADER_STAGE_FRAGMENT_BIT;
        stages[1].module = 0x5002;
        stages[1].pName = n.Str("main");

        var vbind = n.Alloc<VkVertexInputBindingDescription>();
        vbind->binding = 0; vbind->stride = 20; vbind->inputRate = VkVertexInputRate.VK_VERTEX_INPUT_RATE_VERTEX;
        var vattr = n.Alloc<VkVertexInputAttributeDescription>(2);
        vattr[0].location = 0; vattr[0].binding = 0; vattr[0].format = VkFormat.VK_FORMAT_R32G32B32_SFLOAT; vattr[0].offset = 0;
        vattr[1].location = 1; vattr[1].binding = 0; vattr[1].format = VkFormat.VK_FORMAT_R32G32_SFLOAT; vattr[1].offset = 12;
        var vi = n.Alloc<VkPipelineVertexInputStateCreateInfo>();
        vi->sType = VkPipelineVertexInputStateCreateInfo.SType;
        vi->vertexBindingDescriptionCount = 1; vi->pVertexBindingDescriptions = vbind;
        vi->vertexAttributeDescriptionCount = 2; vi->pVertexAttributeDescriptions = vattr;

        var ia = n.Alloc<VkPipelineInputAssemblyStateCreateInfo>();
        ia->sType = VkPipelineInputAssemblyStateCreateInfo.SType;
        ia->topology = VkPrimitiveTopology.VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;

        var viewport = n.Alloc<VkViewport>();
        viewport->width = 800; viewport->height = 600; viewport->maxDepth = 1;
        var scissor = n.Alloc<VkRect2D>();
        scissor->extent.width = 800; scissor->extent.height = 600;
        var vp = n.Alloc<VkPipelineViewportStateCreateInfo>();
        vp->sType = VkPipelineViewportStateCreateInfo.SType;
        vp->viewportCount = 1; vp->pViewports = viewport;
        vp->scissorCount = 1; vp->pScissors = scissor;

        var rs = n.Alloc<VkPipelineRasterizationStateCreateInfo>();
        rs->sType = VkPipelineRasterizationStateCreateInfo.SType;
        rs->polygonMode = VkPolygonMode.VK_POLYGON_MODE_FILL;
        rs->cullMode = 0x2;                     // BACK
        rs->frontFace = VkFrontFace.VK_FRONT_FACE_CLOCKWISE;
        rs->lineWidth = 1.0f;

        var ms = n.Alloc<VkPipelineMultisampleStateCreateInfo>();
        ms->sType = VkPipelineMultisampleStateCreateInfo.SType;
        ms->rasterizationSamples = VkSampleCountFlagBits.VK_SAMPLE_COUNT_4_BIT;
        ms->sampleShadingEnable = 1;
        ms->minSampleShading = 0.25f;
        ms->pSampleMask = n.Array<uint>(0xb);   // (4 + 31) / 32 = 1 word

        var att = n.Alloc<VkPipelineColorBlendAttachmentState>(2);
        att[0].blendEnable = 1;
        att[0].srcColorBlendFactor = VkBlendFactor.VK_BLEND_FACTOR_SRC_ALPHA;
        att[0].dstColorBlendFactor = VkBlendFactor.VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
        att[0].colorBlendOp = VkBlendOp.VK_BLEND_OP_ADD;
        att[0].srcAlphaBlendFactor = VkBlendFactor.VK_BLEND_FACTOR_ONE;
        att[0].dstAlphaBlendFactor = VkBlendFactor.VK_BLEND_FACTOR_ZERO;
        att[0].alphaBlendOp = VkBlendOp.VK_BLEND_OP_ADD;
        att[0].colorWriteMask = 0xf;
        att[1].colorWriteMask = 0x7;            // RGB, blending off
        var cb = n.Alloc<VkPipelineColorBlendStateCreateInfo>();
        cb->sType = VkPipelineColorBlendStateCreateInfo.SType;
        cb->logicOp = VkLogicOp.VK_LOGIC_OP_COPY;
        cb->attachmentCount = 2; cb->pAttachments = att;
        cb->blendConstants[0] = 0.25f; cb->blendConstants[1] = 0.5f; cb->blendConstants[2] = 0.75f; cb->blendConstants[3] = 1.0f;

        var dyn = n.Alloc<VkPipelineDynamicStateCreateInfo>();
        dyn->sType = VkPipelineDynamicStateCreateInfo.SType;
        dyn->dynamicStateCount = 3;
        dyn->pDynamicStates = n.Array(VkDynamicState.VK_DYNAMIC_STATE_LINE_WIDTH, VkDynamicState.VK_DYNAMIC_STATE_DEPTH_BIAS,
                                      VkDynamicState.VK_DYNAMIC_STATE_STENCIL_REFERENCE);

        var ci = n.Alloc<VkGraphicsPipelineCreateInfo>();
        ci->sType = VkGraphicsPipelineCreateInfo.SType;
        ci->stageCount = 2; ci->pStages = stages;
        ci->pVertexInputState = vi;
        ci->pInputAssemblyState = ia;
        ci->pViewportState = vp;
        ci->pRasterizationState = rs;
        ci->pMultisampleState = ms;
        ci->pColorBlendState = cb;
        ci->pDynamicState = dyn;
        ci->layout = 0x5500;
        ci->renderPass = 0x5800;
        ci->subpass = 0;
        ci->basePipelineIndex = -1;
        ulong pipeline = 0x5900;

        var size = vkCreateGraphicsPipelines.Size(0x3000, 0, 1, ci, null, &pipeline);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateGraphicsPipelines.Encode(ref e, Reply, 0x3000, 0, 1, ci, null, &pipeline);
        Done(b, ref e, size);

        const int stage = 4 + 8 + 4 + 4 + 8 + (8 + 8) + 8;                          // 52, no specialization
        const int vertexInput = 4 + 8 + 4 + 4 + (8 + 12) + 4 + (8 + 2 * 16);        // 84
        const int inputAssembly = 4 + 8 + 4 + 4 + 4;                                // 24
        const int viewportState = 4 + 8 + 4 + 4 + (8 + 24) + 4 + (8 + 16);         // 80
        const int raster = 4 + 8 + 11 * 4;                                          // 56
        const int multisample = 4 + 8 + 4 + 4 + 4 + 4 + (8 + 4) + 4 + 4;            // 48
        const int colorBlend = 4 + 8 + 4 + 4 + 4 + 4 + (8 + 2 * 32) + (8 + 16);     // 124
        const int dynamic = 4 + 8 + 4 + 4 + (8 + 12);                               // 40
        const int ciSize = 4 + 8 + 4 + 4 + (8 + 2 * stage) + 9 * 8
                           + vertexInput + inputAssembly + viewportState + raster + multisample + colorBlend + dynamic
                           + 8 + 8 + 4 + 8 + 4;                                      // 692
        Assert.Equal(8 + 8 + 8 + 4 + 8 + ciSize + 8 + 16, b.Length);                // 752
        Header(b, 0, 65, 1);
        Assert.Equal(0UL, U64(b, 16));          // VK_NULL_HANDLE pipeline cache
        Assert.Equal(28, I32(b, 36));           // GRAPHICS_PIPELINE_CREATE_INFO
        Assert.Equal(2u, U32(b, 52)); Assert.Equal(2UL, U64(b, 56));
        int o = 64 + 2 * stage;
        Assert.Equal(1UL, U64(b, o));           // pVertexInputState
        Assert.Equal(19, I32(b, o + 8));        // PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO
        o += 8 + vertexInput;
        Assert.Equal(1UL, U64(b, o)); Assert.Equal(20, I32(b, o + 8));
        Assert.Equal(3, I32(b, o + 8 + 16));    // TRIANGLE_LIST
        o += 8 + inputAssembly;
        Assert.Equal(0UL, U64(b, o));           // pTessellationState NULL
        o += 8;
        Assert.Equal(1UL, U64(b, o)); Assert.Equal(22, I32(b, o + 8));
        o += 8 + viewportState;
        Assert.Equal(1UL, U64(b, o)); Assert.Equal(23, I32(b, o + 8));
        o += 8 + raster;
        Assert.Equal(1UL, U64(b, o)); Assert.Equal(24, I32(b, o + 8));
        Assert.Equal(4u, U32(b, o + 8 + 16));   // rasterizationSamples
        Assert.Equal(0.25f, F32(b, o + 8 + 24));
        Assert.Equal(1UL, U64(b, o + 8 + 28));  // pSampleMask: u64 (samples+31)/32
        Assert.Equal(0xbu, U32(b, o + 8 + 36));
        o += 8 + multisample;
        Assert.Equal(0UL, U64(b, o));           // pDepthStencilState NULL
        o += 8;
        Assert.Equal(1UL, U64(b, o)); Assert.Equal(26, I32(b, o + 8));
        Assert.Equal(2UL, U64(b, o + 8 + 28));
        Assert.Equal(4UL, U64(b, o + 8 + 36 + 64));   // blendConstants: u64 4 + 4 floats (§1.3)
        Assert.Equal(0.75f, F32(b, o + 8 + 44 + 64 + 8));
        o += 8 + colorBlend;
        Assert.Equal(1UL, U64(b, o)); Assert.Equal(27, I32(b, o + 8));
        Assert.Equal(3UL, U64(b, o + 8 + 20));
        o += 8 + dynamic;
        Assert.Equal(0x5500UL, U64(b, o)); Assert.Equal(0x5800UL, U64(b, o + 8));
        Assert.Equal(-1, I32(b, o + 28));
        Assert.Equal(1UL, U64(b, o + 40)); Assert.Equal(0x5900UL, U64(b, o + 48));
        SnapshotAssert.Match("vkCreateGraphicsPipelines_FullState", b,
            "device 0x3000, no cache; VS 0x5001 + FS 0x5002 \"main\"; vertex binding 0 stride 20, attrs R32G32B32@0, R32G32@12; TRIANGLE_LIST;\n" +
            "viewport 800x600 depth 0..1 + scissor; fill, cull BACK, CW, line 1.0; 4 samples, shading 0.25, sample mask 0xb;\n" +
            "2 blend attachments (alpha blend RGBA, off RGB), constants 0.25 0.5 0.75 1.0; dynamic LINE_WIDTH, DEPTH_BIAS, STENCIL_REFERENCE;\n" +
            "layout 0x5500, render pass 0x5800 subpass 0, base -1; pipeline id 0x5900");
    }

    // ---- command buffer commands -------------------------------------------------------------------

    [Fact]
    public void Snapshot_vkCmdBeginRenderPass_ColorAndDepthClears()
    {
        VkClearValue* clears = stackalloc VkClearValue[2];
        clears[0] = default;
        clears[0].color.float32[0] = 0.1f; clears[0].color.float32[1] = 0.2f;
        clears[0].color.float32[2] = 0.3f; clears[0].color.float32[3] = 1.0f;
        clears[1] = default;
        clears[1].depthStencil.depth = 1.0f;
        clears[1].depthStencil.stencil = 0x80;
        VkRenderPassBeginInfo rp = default;
        rp.sType = VkRenderPassBeginInfo.SType;
        rp.renderPass = 0x5800;
        rp.framebuffer = 0x5a00;
        rp.renderArea.offset.x = 0; rp.renderArea.offset.y = 0;
        rp.renderArea.extent.width = 800; rp.renderArea.extent.height = 600;
        rp.clearValueCount = 2;
        rp.pClearValues = clears;

        var size = vkCmdBeginRenderPass.Size(0x6000, &rp, VkSubpassContents.VK_SUBPASS_CONTENTS_INLINE);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCmdBeginRenderPass.Encode(ref e, NoReply, 0x6000, &rp, VkSubpassContents.VK_SUBPASS_CONTENTS_INLINE);
        Done(b, ref e, size);

        Assert.Equal(148, b.Length);
        Header(b, 0, 133, 0);
        Assert.Equal(43, I32(b, 24));           // RENDER_PASS_BEGIN_INFO
        Assert.Equal(0x5800UL, U64(b, 36)); Assert.Equal(0x5a00UL, U64(b, 44));
        Assert.Equal(800u, U32(b, 60)); Assert.Equal(600u, U32(b, 64));
        Assert.Equal(2u, U32(b, 68)); Assert.Equal(2UL, U64(b, 72));
        // §1.5: every clear value is u32 0 (color), u32 2 (uint32), u64 4, 4 × u32 = 32 bytes
        Assert.Equal(0u, U32(b, 80)); Assert.Equal(2u, U32(b, 84)); Assert.Equal(4UL, U64(b, 88));
        Assert.Equal(0.1f, F32(b, 96)); Assert.Equal(1.0f, F32(b, 108));
        Assert.Equal(0u, U32(b, 112)); Assert.Equal(2u, U32(b, 116)); Assert.Equal(4UL, U64(b, 120));
        Assert.Equal(0x3f800000u, U32(b, 128)); // depth 1.0 as raw bits
        Assert.Equal(0x80u, U32(b, 132));       // stencil
        Assert.Equal(0u, U32(b, 136)); Assert.Equal(0u, U32(b, 140));
        Assert.Equal(0, I32(b, 144));           // INLINE
        SnapshotAssert.Match("vkCmdBeginRenderPass_ColorAndDepthClears", b,
            "cb 0x6000, render pass 0x5800, framebuffer 0x5a00, area 800x600; clears: color (0.1, 0.2, 0.3, 1.0), depth 1.0 stencil 0x80; INLINE");
    }

    [Fact]
    public void Snapshot_vkCmdClearColorImage()
    {
        VkClearColorValue color = default;
        color.float32[0] = 1.0f; color.float32[1] = 0.5f; color.float32[2] = 0.0f; color.float32[3] = 1.0f;
        VkImageSubresourceRange range = default;
        range.aspectMask = 0x1;                 // COLOR
        range.baseMipLevel = 0; range.levelCount = 3;
        range.baseArrayLayer = 0; range.layerCount = 1;

        var size = vkCmdClearColorImage.Size(0x6000, 0x6100, VkImageLayout.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &color, 1, &range);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCmdClearColorImage.Encode(ref e, NoReply, 0x6000, 0x6100, VkImageLayout.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &color, 1, &range);
        Done(b, ref e, size);

        Assert.Equal(96, b.Length);
        Header(b, 0, 119, 0);
        Assert.Equal(0x6000UL, U64(b, 8)); Assert.Equal(0x6100UL, U64(b, 16));
        Assert.Equal(7, I32(b, 24));            // TRANSFER_DST_OPTIMAL
        Assert.Equal(1UL, U64(b, 28));          // pColor present
        Assert.Equal(2u, U32(b, 36));           // VkClearColorValue tag 2 (uint32[4])
        Assert.Equal(4UL, U64(b, 40));
        Assert.Equal(0x3f800000u, U32(b, 48)); Assert.Equal(0x3f000000u, U32(b, 52));
        Assert.Equal(1u, U32(b, 64)); Assert.Equal(1UL, U64(b, 68));
        Assert.Equal(1u, U32(b, 76)); Assert.Equal(3u, U32(b, 84)); Assert.Equal(1u, U32(b, 92));
        SnapshotAssert.Match("vkCmdClearColorImage", b,
            "cb 0x6000, image 0x6100 in TRANSFER_DST_OPTIMAL, color (1.0, 0.5, 0.0, 1.0), range COLOR mips 0..2 layer 0");
    }

    [Fact]
    public void Snapshot_vkCmdBindDescriptorSets_ThreeSetsTwoDynamicOffsets()
    {
        ulong* sets = stackalloc ulong[3] { 0x5400, 0x5401, 0x5402 };
        uint* offsets = stackalloc uint[2] { 256, 512 };
        var size = vkCmdBindDescriptorSets.Size(0x6000, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_GRAPHICS, 0x5500, 0, 3, sets, 2, offsets);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCmdBindDescriptorSets.Encode(ref e, NoReply, 0x6000, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_GRAPHICS, 0x5500, 0, 3, sets, 2, offsets);
        Done(b, ref e, size);

        Assert.Equal(88, b.Length);
        Header(b, 0, 103, 0);
        Assert.Equal(0, I32(b, 16));            // GRAPHICS
        Assert.Equal(0x5500UL, U64(b, 20));
        Assert.Equal(0u, U32(b, 28)); Assert.Equal(3u, U32(b, 32));
        Assert.Equal(3UL, U64(b, 36));
        Assert.Equal(0x5400UL, U64(b, 44)); Assert.Equal(0x5402UL, U64(b, 60));
        Assert.Equal(2u, U32(b, 68)); Assert.Equal(2UL, U64(b, 72));
        Assert.Equal(256u, U32(b, 80)); Assert.Equal(512u, U32(b, 84));
        SnapshotAssert.Match("vkCmdBindDescriptorSets_ThreeSetsTwoDynamicOffsets", b,
            "cb 0x6000, GRAPHICS, layout 0x5500, sets 0..2 = 0x5400..0x5402, dynamic offsets 256, 512");
    }

    [Fact]
    public void Snapshot_vkCmdPushConstants_12Bytes()
    {
        float* values = stackalloc float[3] { 1.0f, 0.5f, 0.25f };
        var size = vkCmdPushConstants.Size(0x6000, 0x5500, 0x11, 0, 12, values);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCmdPushConstants.Encode(ref e, NoReply, 0x6000, 0x5500, 0x11, 0, 12, values);
        Done(b, ref e, size);

        Assert.Equal(56, b.Length);
        Header(b, 0, 132, 0);
        Assert.Equal(0x11u, U32(b, 24));        // VERTEX | FRAGMENT
        Assert.Equal(0u, U32(b, 28)); Assert.Equal(12u, U32(b, 32));
        Assert.Equal(12UL, U64(b, 36));         // blob: u64 byte count (§1.4)
        Assert.Equal(1.0f, F32(b, 44)); Assert.Equal(0.25f, F32(b, 52));
        SnapshotAssert.Match("vkCmdPushConstants_12Bytes", b,
            "cb 0x6000, layout 0x5500, VERTEX|FRAGMENT, offset 0, 12 bytes = floats 1.0, 0.5, 0.25");
    }

    [Fact]
    public void Snapshot_CommandBuffer_ThreeDraws()
    {
        const ulong cmd = 0x6000;
        VkCommandBufferBeginInfo begin = default;
        begin.sType = VkCommandBufferBeginInfo.SType;
        begin.flags = 0x1;                      // ONE_TIME_SUBMIT
        ulong* vbufs = stackalloc ulong[2] { 0x4000, 0x4001 };
        ulong* voffs = stackalloc ulong[2] { 0, 1024 };

        ulong sBegin = vkBeginCommandBuffer.Size(cmd, &begin);
        ulong sBind = vkCmdBindPipeline.Size(cmd, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_GRAPHICS, 0x5900);
        ulong sVb = vkCmdBindVertexBuffers.Size(cmd, 0, 2, vbufs, voffs);
        ulong sDraw = vkCmdDraw.Size(cmd, 3, 1, 0, 0);
        ulong sEnd = vkEndCommandBuffer.Size(cmd);
        Assert.Equal(48UL, sBegin);             // §1.9 (c)
        Assert.Equal(8UL + 8 + 4 + 8, sBind);
        Assert.Equal(8UL + 8 + 4 + 4 + (8 + 16) + (8 + 16), sVb);
        Assert.Equal(32UL, sDraw);              // §1.9 (c)
        Assert.Equal(16UL, sEnd);               // §1.9 (c)

        var b = new byte[sBegin + sBind + sVb + 3 * sDraw + sEnd];
        var e = new VnEncoder(b);
        vkBeginCommandBuffer.Encode(ref e, NoReply, cmd, &begin);
        vkCmdBindPipeline.Encode(ref e, NoReply, cmd, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_GRAPHICS, 0x5900);
        vkCmdBindVertexBuffers.Encode(ref e, NoReply, cmd, 0, 2, vbufs, voffs);
        vkCmdDraw.Encode(ref e, NoReply, cmd, 3, 1, 0, 0);
        vkCmdDraw.Encode(ref e, NoReply, cmd, 6, 2, 3, 0);
        vkCmdDraw.Encode(ref e, NoReply, cmd, 36, 1, 9, 5);
        vkEndCommandBuffer.Encode(ref e, NoReply, cmd);
        Assert.Equal(b.Length, e.Position);

        Assert.Equal(260, b.Length);
        Header(b, 0, 90, 0);
        Assert.Equal(42, I32(b, 24));           // COMMAND_BUFFER_BEGIN_INFO
        Assert.Equal(1u, U32(b, 36));           // flags
        Assert.Equal(0UL, U64(b, 40));          // pInheritanceInfo NULL
        Header(b, 48, 93, 0);
        Assert.Equal(0x5900UL, U64(b, 68));
        Header(b, 76, 105, 0);
        Assert.Equal(0u, U32(b, 92)); Assert.Equal(2u, U32(b, 96));
        Assert.Equal(2UL, U64(b, 100)); Assert.Equal(0x4001UL, U64(b, 116));
        Assert.Equal(2UL, U64(b, 124)); Assert.Equal(1024UL, U64(b, 140));
        for (int i = 0; i < 3; i++)
        {
            Header(b, 148 + 32 * i, 106, 0);
            Assert.Equal(cmd, U64(b, 156 + 32 * i));
        }
        Assert.Equal(36u, U32(b, 228)); Assert.Equal(5u, U32(b, 240));
        Header(b, 244, 91, 0);
        Assert.Equal(cmd, U64(b, 252));
        SnapshotAssert.Match("CommandBuffer_ThreeDraws", b,
            "cb 0x6000: vkBeginCommandBuffer(ONE_TIME_SUBMIT) @0, vkCmdBindPipeline(GRAPHICS, 0x5900) @48,\n" +
            "vkCmdBindVertexBuffers(first 0: 0x4000+0, 0x4001+1024) @76, vkCmdDraw (3,1,0,0) @148, (6,2,3,0) @180, (36,1,9,5) @212,\n" +
            "vkEndCommandBuffer @244; all flags 0");
    }

    [Fact]
    public void Snapshot_vkCmdSetBlendConstants()
    {
        float* k = stackalloc float[4] { 0.25f, 0.5f, 0.75f, 1.0f };
        var size = vkCmdSetBlendConstants.Size(0x6000, k);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCmdSetBlendConstants.Encode(ref e, NoReply, 0x6000, k);
        Done(b, ref e, size);

        Assert.Equal(40, b.Length);             // §1.3: u64 4 + 4 floats
        Header(b, 0, 98, 0);
        Assert.Equal(4UL, U64(b, 16));
        Assert.Equal(0.25f, F32(b, 24)); Assert.Equal(1.0f, F32(b, 36));
        SnapshotAssert.Match("vkCmdSetBlendConstants", b, "cb 0x6000, constants 0.25, 0.5, 0.75, 1.0");
    }

    // ---- queue ------------------------------------------------------------------------------------

    [Fact]
    public void Snapshot_vkQueueSubmit_WaitsCommandBuffersSignalFence()
    {
        using var n = new Native();
        var si = n.Alloc<VkSubmitInfo>();
        si->sType = VkSubmitInfo.SType;
        si->waitSemaphoreCount = 2;
        si->pWaitSemaphores = n.Array<ulong>(0x7001, 0x7002);
        si->pWaitDstStageMask = n.Array<uint>(0x400, 0x1);     // COLOR_ATTACHMENT_OUTPUT, TOP_OF_PIPE
        si->commandBufferCount = 2;
        si->pCommandBuffers = n.Array<ulong>(0x6000, 0x6001);
        si->signalSemaphoreCount = 1;
        si->pSignalSemaphores = n.Array<ulong>(0x7003);

        var size = vkQueueSubmit.Size(0x3100, 1, si, 0x7100);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkQueueSubmit.Encode(ref e, NoReply, 0x3100, 1, si, 0x7100);
        Done(b, ref e, size);

        const int submit = 4 + 8 + 4 + (8 + 16) + (8 + 8) + 4 + (8 + 16) + 4 + (8 + 8);   // 104
        Assert.Equal(8 + 8 + 4 + 8 + submit + 8, b.Length);                             // 140
        Header(b, 0, 18, 0);
        Assert.Equal(0x3100UL, U64(b, 8));
        Assert.Equal(1u, U32(b, 16)); Assert.Equal(1UL, U64(b, 20));
        Assert.Equal(4, I32(b, 28));            // SUBMIT_INFO
        Assert.Equal(2u, U32(b, 40)); Assert.Equal(2UL, U64(b, 44));
        Assert.Equal(0x7001UL, U64(b, 52)); Assert.Equal(0x7002UL, U64(b, 60));
        Assert.Equal(2UL, U64(b, 68));          // stage masks: size = waitSemaphoreCount
        Assert.Equal(0x400u, U32(b, 76)); Assert.Equal(0x1u, U32(b, 80));
        Assert.Equal(2u, U32(b, 84)); Assert.Equal(2UL, U64(b, 88));
        Assert.Equal(0x6001UL, U64(b, 104));
        Assert.Equal(1u, U32(b, 112)); Assert.Equal(1UL, U64(b, 116)); Assert.Equal(0x7003UL, U64(b, 124));
        Assert.Equal(0x7100UL, U64(b, 132));    // fence
        SnapshotAssert.Match("vkQueueSubmit_WaitsCommandBuffersSignalFence", b,
            "queue 0x3100, 1 submit: wait 0x7001@COLOR_ATTACHMENT_OUTPUT, 0x7002@TOP_OF_PIPE; cbs 0x6000, 0x6001; signal 0x7003; fence 0x7100");
    }

    // ---- Venus transport commands (§3, §4) ----------------------------------------------------------

    [Fact]
    public void Snapshot_vkCreateRingMESA_AsMesaSendsIt()
    {
        VkRingMonitorInfoMESA mon = default;
        mon.sType = VkRingMonitorInfoMESA.SType;
        mon.maxReportingPeriodMicroseconds = 3_000_000;
        VkRingCreateInfoMESA ci = default;
        ci.sType = VkRingCreateInfoMESA.SType;
        ci.pNext = &mon;
        ci.flags = 0;
        ci.resourceId = 5;
        ci.offset = 0;
        ci.size = 131268;
        ci.idleTimeout = 5_000_000;
        ci.headOffset = 0;
        ci.tailOffset = 64;
        ci.statusOffset = 128;
        ci.bufferOffset = 192;
        ci.bufferSize = 131072;
        ci.extraOffset = 131264;
        ci.extraSize = 4;
        const ulong ring = 0x7f00_1234_5000;

        var size = vkCreateRingMESA.Size(ring, &ci);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkCreateRingMESA.Encode(ref e, NoReply, ring, &ci);
        Done(b, ref e, size);

        // §4.1: 8 header + 8 ring id + 8 pointer + 4 sType + 24 monitor chain + 88 self = 140
        Assert.Equal(140, b.Length);
        Header(b, 0, 188, 0);
        Assert.Equal(ring, U64(b, 8));
        Assert.Equal(1UL, U64(b, 16));
        Assert.Equal(1000384000, I32(b, 24));   // RING_CREATE_INFO_MESA
        Assert.Equal(1UL, U64(b, 28));
        Assert.Equal(1000384006, I32(b, 36));   // RING_MONITOR_INFO_MESA
        Assert.Equal(0UL, U64(b, 40));
        Assert.Equal(3_000_000u, U32(b, 48));   // monitor self comes before the ring's self (§1.5)
        Assert.Equal(0u, U32(b, 52));           // flags
        Assert.Equal(5u, U32(b, 56));           // resourceId
        ulong[] self = { 0, 131268, 5_000_000, 0, 64, 128, 192, 131072, 131264, 4 };
        for (int i = 0; i < self.Length; i++) Assert.Equal(self[i], U64(b, 60 + 8 * i));

        // without the monitor chain (what 0.10.4 accepts) it is 124 bytes
        ci.pNext = null;
        Assert.Equal(124UL, vkCreateRingMESA.Size(ring, &ci));

        SnapshotAssert.Match("vkCreateRingMESA_AsMesaSendsIt", b,
            "Mesa's instance ring (§4.1): ring id 0x7f0012345000, resource 5, offset 0, size 131268, idleTimeout 5000000 ns,\n" +
            "head 0 / tail 64 / status 128 / buffer 192, bufferSize 131072, extra 131264 size 4; pNext RingMonitorInfoMESA{3000000 us}");
    }

    [Fact]
    public void Snapshot_vkSetReplyCommandStreamMESA()
    {
        VkCommandStreamDescriptionMESA d = default;
        d.resourceId = 6;
        d.offset = 4096;
        d.size = 24;
        var size = vkSetReplyCommandStreamMESA.Size(&d);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkSetReplyCommandStreamMESA.Encode(ref e, NoReply, &d);
        Done(b, ref e, size);

        Assert.Equal(36, b.Length);             // §3.2
        Header(b, 0, 178, 0);
        Assert.Equal(1UL, U64(b, 8));
        Assert.Equal(6u, U32(b, 16)); Assert.Equal(4096UL, U64(b, 20)); Assert.Equal(24UL, U64(b, 28));
        SnapshotAssert.Match("vkSetReplyCommandStreamMESA", b, "reply stream = resource 6 [4096, 4096+24)");
    }

    [Fact]
    public void Snapshot_vkExecuteCommandStreamsMESA_TwoStreams()
    {
        VkCommandStreamDescriptionMESA* streams = stackalloc VkCommandStreamDescriptionMESA[2];
        streams[0] = default; streams[0].resourceId = 8; streams[0].offset = 0; streams[0].size = 16384;
        streams[1] = default; streams[1].resourceId = 9; streams[1].offset = 256; streams[1].size = 1000;
        // Mesa: no reply positions, no dependencies, flags 0 (§3.2)
        var size = vkExecuteCommandStreamsMESA.Size(2, streams, null, 0, null, 0);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkExecuteCommandStreamsMESA.Encode(ref e, NoReply, 2, streams, null, 0, null, 0);
        Done(b, ref e, size);

        Assert.Equal(8 + 4 + 8 + 2 * 20 + 8 + 4 + 8 + 4, b.Length);   // 84; Description = 20 bytes (§3.1)
        Header(b, 0, 180, 0);
        Assert.Equal(2u, U32(b, 8)); Assert.Equal(2UL, U64(b, 12));
        Assert.Equal(8u, U32(b, 20)); Assert.Equal(0UL, U64(b, 24)); Assert.Equal(16384UL, U64(b, 32));
        Assert.Equal(9u, U32(b, 40)); Assert.Equal(256UL, U64(b, 44)); Assert.Equal(1000UL, U64(b, 52));
        Assert.Equal(0UL, U64(b, 60));          // pReplyPositions NULL
        Assert.Equal(0u, U32(b, 68)); Assert.Equal(0UL, U64(b, 72));
        Assert.Equal(0u, U32(b, 80));
        SnapshotAssert.Match("vkExecuteCommandStreamsMESA_TwoStreams", b,
            "streams: resource 8 [0, 16384), resource 9 [256, 1256); no reply positions, no dependencies, flags 0");
    }

    // ---- outputs: arrays, blobs -----------------------------------------------------------------------

    [Fact]
    public void Snapshot_vkEnumerateDeviceExtensionProperties_LayerAndThreeOutputs()
    {
        using var n = new Native();
        var layer = n.Str("VK_LAYER_KHRONOS_validation");   // 27 + NUL = 28, no pad
        uint count = 3;
        var props = n.Alloc<VkExtensionProperties>(3);
        props[0].specVersion = 77;                          // output values must not travel
        props[0].extensionName[0] = (byte)'X';

        var size = vkEnumerateDeviceExtensionProperties.Size(0x2001, layer, &count, props);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkEnumerateDeviceExtensionProperties.Encode(ref e, Reply, 0x2001, layer, &count, props);
        Done(b, ref e, size);

        Assert.Equal(72, b.Length);
        Header(b, 0, 14, 1);
        Assert.Equal(0x2001UL, U64(b, 8));
        int o = String(b, 16, "VK_LAYER_KHRONOS_validation");
        Assert.Equal(52, o);
        Assert.Equal(1UL, U64(b, 52)); Assert.Equal(3u, U32(b, 60));   // in/out count
        Assert.Equal(3UL, U64(b, 64));          // u64 3, then 3 partial sType-less elements = 0 bytes (§1.3)
        SnapshotAssert.Match("vkEnumerateDeviceExtensionProperties_LayerAndThreeOutputs", b,
            "physicalDevice 0x2001, layer \"VK_LAYER_KHRONOS_validation\", *pPropertyCount 3, pProperties[3] (partial: nothing per element)");
    }

    [Fact]
    public void Snapshot_vkGetPipelineCacheData_Fetch()
    {
        nuint dataSize = 4096;
        byte* data = stackalloc byte[16];
        data[0] = 0xaa;                          // output: must not travel
        var size = vkGetPipelineCacheData.Size(0x3000, 0x5700, &dataSize, data);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkGetPipelineCacheData.Encode(ref e, Reply, 0x3000, 0x5700, &dataSize, data);
        Done(b, ref e, size);

        // §1.4: request = u64 1 + size_t *pDataSize, then u64 (pData ? *pDataSize : 0) and no bytes
        Assert.Equal(48, b.Length);
        Header(b, 0, 63, 1);
        Assert.Equal(0x3000UL, U64(b, 8)); Assert.Equal(0x5700UL, U64(b, 16));
        Assert.Equal(1UL, U64(b, 24)); Assert.Equal(4096UL, U64(b, 32));
        Assert.Equal(4096UL, U64(b, 40));

        // the size query (pData NULL) is the same length with u64 0 at the end
        nuint zero = 0;
        Assert.Equal(48UL, vkGetPipelineCacheData.Size(0x3000, 0x5700, &zero, null));

        SnapshotAssert.Match("vkGetPipelineCacheData_Fetch", b,
            "device 0x3000, cache 0x5700, *pDataSize 4096, pData non-NULL: only sizes travel");
    }

    [Fact]
    public void Snapshot_vkGetQueryPoolResults()
    {
        byte* data = stackalloc byte[64];
        const uint flags = 0x1 | 0x2 | 0x4;     // 64_BIT | WAIT | WITH_AVAILABILITY
        var size = vkGetQueryPoolResults.Size(0x3000, 0x7200, 0, 4, 64, data, 16, flags);
        var b = new byte[size];
        var e = new VnEncoder(b);
        vkGetQueryPoolResults.Encode(ref e, Reply, 0x3000, 0x7200, 0, 4, 64, data, 16, flags);
        Done(b, ref e, size);

        Assert.Equal(60, b.Length);
        Header(b, 0, 49, 1);
        Assert.Equal(0x7200UL, U64(b, 16));
        Assert.Equal(0u, U32(b, 24)); Assert.Equal(4u, U32(b, 28));
        Assert.Equal(64UL, U64(b, 32));         // size_t dataSize
        Assert.Equal(64UL, U64(b, 40));         // output blob: size only, no bytes
        Assert.Equal(16UL, U64(b, 48));         // VkDeviceSize stride
        Assert.Equal(7u, U32(b, 56));
        SnapshotAssert.Match("vkGetQueryPoolResults", b,
            "device 0x3000, pool 0x7200, queries 0..3, 64 bytes, stride 16, 64_BIT|WAIT|WITH_AVAILABILITY");
    }
}
