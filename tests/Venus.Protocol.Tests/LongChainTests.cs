using Venus.TestSupport;
using System.Reflection;
using System.Runtime.CompilerServices;
using Venus.Protocol.Commands;
using Venus.Protocol.Tests.Generated;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.Protocol.Tests;

/// <summary>
/// The longest pNext chains a valid app can build, taken from the generated chain tables
/// (<c>&lt;Struct&gt;Wire.ChainSTypes</c>: every struct the protocol knows for that chain, each
/// once), travel in every direction: guest encode, host decode, host reply encode, guest
/// decode-into. One element more than the limit, and a 1000-element chain, are refused with
/// ChainTooLong; structs vk.xml lets repeat (allowduplicate) are not counted. A driver with 238
/// extensions (issue 17: an NVIDIA H100) gets vulkaninfo to send a feature chain past any small
/// fixed cap.
/// </summary>
public unsafe class LongChainTests
{
    static readonly IReadOnlyDictionary<int, Type> StructOf = ProtocolStructs.BySType;

    /// <summary>
    /// Links one struct per sType, in the given order, in the test arena: random valid members
    /// (the generated RandomArgs.FillSelf) or, with <paramref name="fill"/> false, zeroed (the shape
    /// of an output chain, as an app passes it).
    /// </summary>
    static void* Chain(TestRandom r, IEnumerable<int> sTypes, bool fill)
    {
        void* head = null;
        foreach (int st in sTypes.Reverse())
        {
            Type t = StructOf[st];
            var p = (VnChainHeader*)r.Alloc<byte>((ulong)RuntimeHelpers.SizeOf(t.TypeHandle));
            if (fill)
            {
                MethodInfo m = typeof(RandomArgs).GetMethod("FillSelf", [typeof(TestRandom), t.MakePointerType()])
                               ?? throw new InvalidOperationException($"no RandomArgs.FillSelf for {t.Name}");
                m.Invoke(null, [r, Pointer.Box(p, t.MakePointerType())]);
            }
            p->sType = st;
            p->pNext = head;
            head = p;
        }
        return head;
    }

    static List<int> STypesOf(void* chain)
    {
        var list = new List<int>();
        for (var p = (VnChainHeader*)chain; p != null && list.Count < 10_000; p = (VnChainHeader*)p->pNext) list.Add(p->sType);
        return list;
    }

    static byte[] EncodeFeatures2(VkPhysicalDeviceFeatures2* v)
    {
        var buf = new byte[VkPhysicalDeviceFeatures2Wire.Size(v)];
        var e = new VnEncoder(buf);
        VkPhysicalDeviceFeatures2Wire.Encode(ref e, v);
        Assert.Equal(buf.Length, e.Position);
        return buf;
    }

    /// <summary>Runs <paramref name="body"/> on a thread with a 256 KiB stack: decoding must not need a frame per chain element.</summary>
    static void OnSmallStack(Action body)
    {
        Exception? failure = null;
        var t = new Thread(() =>
        {
            try { body(); }
            catch (Exception e) { failure = e; }
        }, 256 * 1024);
        t.Start();
        t.Join();
        if (failure != null) throw new Xunit.Sdk.XunitException($"on the small-stack thread: {failure}");
    }

    static ReadOnlySpan<int> FeatureSTypes => VkPhysicalDeviceFeatures2Wire.ChainSTypes;

    [Fact]
    public void TheFeatureChainIsLongerThanAnySmallFixedCap()
    {
        // Every VkPhysicalDevice*Features struct the protocol covers, once: what vulkaninfo chains
        // on a driver that has them all.
        Assert.True(FeatureSTypes.Length > 100, $"only {FeatureSTypes.Length} feature structs");
        Assert.Equal(VkPhysicalDeviceFeatures2Wire.ChainLimit, FeatureSTypes.Length);
        Assert.Equal(FeatureSTypes.ToArray().Distinct().Count(), FeatureSTypes.Length);
        // As an output (vkGetPhysicalDeviceFeatures2) the same structs travel.
        Assert.Equal(FeatureSTypes.ToArray(), VkPhysicalDeviceFeatures2Wire.PartialChainSTypes.ToArray());
        foreach (int st in FeatureSTypes) Assert.True(StructOf.ContainsKey(st), $"sType {st} has no native struct");
        // Each feature struct may also be chained to VkDeviceCreateInfo directly.
        var device = VkDeviceCreateInfoWire.ChainSTypes.ToArray();
        Assert.Contains((int)VkPhysicalDeviceFeatures2.SType, device);
        foreach (int st in FeatureSTypes) Assert.Contains(st, device);
    }

    [Fact]
    public void TheLongestFeatureChainRoundTripsThroughDecodeAndDecodeInto()
    {
        OnSmallStack(() =>
        {
            using var r = new TestRandom(17);
            var v = r.Alloc<VkPhysicalDeviceFeatures2>(1);
            RandomArgs.FillSelf(r, v);
            v->sType = VkPhysicalDeviceFeatures2.SType;
            v->pNext = Chain(r, FeatureSTypes.ToArray(), fill: true);
            byte[] wire = EncodeFeatures2(v);

            // Host: full decode, then the same bytes again.
            var d = new VnDecoder(wire, r.DecodeArena);
            VkPhysicalDeviceFeatures2 host;
            VkPhysicalDeviceFeatures2Wire.Decode(ref d, &host);
            Assert.True(!d.Failed, $"Decode: {d.Error} at byte {d.ErrorPosition} of {wire.Length}");
            Assert.True(d.AtEnd);
            Assert.Equal(FeatureSTypes.ToArray(), STypesOf(host.pNext));
            Assert.Equal(wire, EncodeFeatures2(&host));

            // Guest: decode into a zeroed chain of the same structs, as a reply lands in the app's memory.
            var shape = r.Alloc<VkPhysicalDeviceFeatures2>(1);
            shape->sType = VkPhysicalDeviceFeatures2.SType;
            shape->pNext = Chain(r, FeatureSTypes.ToArray(), fill: false);
            void* guestChain = shape->pNext;
            var di = new VnDecoder(wire);
            VkPhysicalDeviceFeatures2Wire.DecodeInto(ref di, shape);
            Assert.True(!di.Failed, $"DecodeInto: {di.Error} at byte {di.ErrorPosition} of {wire.Length}");
            Assert.True(di.AtEnd);
            Assert.True(shape->pNext == guestChain, "DecodeInto relinked the caller's chain");
            Assert.Equal(FeatureSTypes.ToArray(), STypesOf(shape->pNext));
            Assert.Equal(wire, EncodeFeatures2(shape));
        });
    }

    [Fact]
    public void GetPhysicalDeviceFeatures2WithTheLongestChainRoundTrips()
    {
        using var r = new TestRandom(18);
        var guest = r.Alloc<VkPhysicalDeviceFeatures2>(1);
        guest->sType = VkPhysicalDeviceFeatures2.SType;
        guest->pNext = Chain(r, VkPhysicalDeviceFeatures2Wire.PartialChainSTypes.ToArray(), fill: false);
        string? error = CommandRoundTrip(r, guest, VkPhysicalDeviceFeatures2Wire.PartialChainSTypes.ToArray(),
            (ref VnEncoder e, VkPhysicalDeviceFeatures2* p) => vkGetPhysicalDeviceFeatures2.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, 1, p),
            p => vkGetPhysicalDeviceFeatures2.Size(1, (VkPhysicalDeviceFeatures2*)p),
            (ref VnDecoder d) => { vkGetPhysicalDeviceFeatures2.Args a; vkGetPhysicalDeviceFeatures2.Decode(ref d, &a); return a.pFeatures; },
            p => vkGetPhysicalDeviceFeatures2.ReplySize(1, (VkPhysicalDeviceFeatures2*)p),
            (ref VnEncoder e, VkPhysicalDeviceFeatures2* p) => vkGetPhysicalDeviceFeatures2.EncodeReply(ref e, 1, p),
            (ref VnDecoder d, VkPhysicalDeviceFeatures2* p) => vkGetPhysicalDeviceFeatures2.DecodeReply(ref d, 1, p));
        Assert.Null(error);
    }

    [Fact]
    public void GetPhysicalDeviceProperties2WithTheLongestChainRoundTrips()
    {
        var sTypes = VkPhysicalDeviceProperties2Wire.PartialChainSTypes.ToArray();
        Assert.True(sTypes.Length > 40, $"only {sTypes.Length} properties structs");
        using var r = new TestRandom(19);
        var guest = r.Alloc<VkPhysicalDeviceProperties2>(1);
        guest->sType = VkPhysicalDeviceProperties2.SType;
        guest->pNext = Chain(r, sTypes, fill: false);
        string? error = CommandRoundTrip(r, guest, sTypes,
            (ref VnEncoder e, VkPhysicalDeviceProperties2* p) => vkGetPhysicalDeviceProperties2.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, 1, p),
            p => vkGetPhysicalDeviceProperties2.Size(1, (VkPhysicalDeviceProperties2*)p),
            (ref VnDecoder d) => { vkGetPhysicalDeviceProperties2.Args a; vkGetPhysicalDeviceProperties2.Decode(ref d, &a); return a.pProperties; },
            p => vkGetPhysicalDeviceProperties2.ReplySize(1, (VkPhysicalDeviceProperties2*)p),
            (ref VnEncoder e, VkPhysicalDeviceProperties2* p) => vkGetPhysicalDeviceProperties2.EncodeReply(ref e, 1, p),
            (ref VnDecoder d, VkPhysicalDeviceProperties2* p) => vkGetPhysicalDeviceProperties2.DecodeReply(ref d, 1, p));
        Assert.Null(error);
    }

    delegate void EncodeFn<T>(ref VnEncoder e, T* p) where T : unmanaged;
    delegate T* DecodeRequestFn<T>(ref VnDecoder d) where T : unmanaged;
    delegate void DecodeReplyFn<T>(ref VnDecoder d, T* p) where T : unmanaged;

    /// <summary>
    /// A query with an output chain, the whole way: the guest's partial request, the host's decode of
    /// it (every struct, in order), the host's answer (random values in every struct), the guest's
    /// decode of the reply into its own chain, which then holds what the host encoded.
    /// </summary>
    static string? CommandRoundTrip<T>(TestRandom r, T* guest, int[] sTypes, EncodeFn<T> encode, Func<nint, ulong> size,
        DecodeRequestFn<T> decodeRequest, Func<nint, ulong> replySize, EncodeFn<T> encodeReply, DecodeReplyFn<T> decodeReply)
        where T : unmanaged
    {
        var request = new byte[size((nint)guest)];
        var e = new VnEncoder(request);
        encode(ref e, guest);
        if (e.Position != request.Length) return $"request: Size said {request.Length}, Encode wrote {e.Position}";

        var d = new VnDecoder(request, r.DecodeArena);
        d.U32();
        d.U32();
        T* host = decodeRequest(ref d);
        if (d.Failed) return $"host decode of the request: {d.Error} at byte {d.ErrorPosition} of {request.Length}";
        if (!d.AtEnd) return $"host decode of the request stopped at {d.Position} of {request.Length}";
        void* hostChain = ((VnChainHeader*)host)->pNext;
        if (!STypesOf(hostChain).SequenceEqual(sTypes)) return $"the host decoded {STypesOf(hostChain).Count} of {sTypes.Length} chain structs";

        // The host's driver answers: random values in every struct, the chain left as decoded. Structs
        // with output arrays keep what the request shaped (counts the guest made room for).
        static void Answer(TestRandom r, void* p, Type t)
        {
            if (t.GetFields().Any(f => f.FieldType.IsPointer && f.Name != "pNext")) return;
            var next = ((VnChainHeader*)p)->pNext;
            typeof(RandomArgs).GetMethod("FillSelf", [typeof(TestRandom), t.MakePointerType()])!
                .Invoke(null, [r, Pointer.Box(p, t.MakePointerType())]);
            ((VnChainHeader*)p)->pNext = next;
        }
        Answer(r, host, typeof(T));
        for (var p = (VnChainHeader*)hostChain; p != null; p = (VnChainHeader*)p->pNext)
            Answer(r, p, StructOf[p->sType]);
        var reply = new byte[replySize((nint)host)];
        var re = new VnEncoder(reply);
        encodeReply(ref re, host);
        if (re.Position != reply.Length) return $"reply: ReplySize said {reply.Length}, EncodeReply wrote {re.Position}";

        var rd = new VnDecoder(reply);
        decodeReply(ref rd, guest);
        if (rd.Failed) return $"guest decode of the reply: {rd.Error} at byte {rd.ErrorPosition} of {reply.Length}";
        if (!rd.AtEnd) return $"guest decode of the reply stopped at {rd.Position} of {reply.Length}";

        // The guest's structs now hold what the host's did.
        var again = new byte[replySize((nint)guest)];
        var ae = new VnEncoder(again);
        encodeReply(ref ae, guest);
        if (!again.AsSpan().SequenceEqual(reply)) return $"the guest's chain differs from the host's at reply byte {TestRandom.FirstDifference(reply, again)}";
        return null;
    }

    static (VnDecodeError Error, vkCreateDevice.Args Args) DecodeCreateDevice(TestRandom r, void* chain, out byte[] request)
    {
        vkCreateDevice.Args a = default;
        RandomArgs.Fill(r, &a);
        a.pCreateInfo->pNext = chain;
        request = new byte[vkCreateDevice.Size(&a)];
        var e = new VnEncoder(request);
        vkCreateDevice.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, &a);
        Assert.Equal(request.Length, e.Position);
        var d = new VnDecoder(request, r.DecodeArena);
        d.U32();
        d.U32();
        vkCreateDevice.Args b = default;
        vkCreateDevice.Decode(ref d, &b);
        if (!d.Failed) Assert.True(d.AtEnd);
        return (d.Error, b);
    }

    [Fact]
    public void CreateDeviceWithFeatures2AndEveryFeatureStructDecodes()
    {
        // vulkaninfo's and most apps' way: VkDeviceCreateInfo → VkPhysicalDeviceFeatures2 → each feature struct.
        using var r = new TestRandom(20);
        var sTypes = new List<int> { (int)VkPhysicalDeviceFeatures2.SType };
        sTypes.AddRange(FeatureSTypes.ToArray());
        var (error, b) = DecodeCreateDevice(r, Chain(r, sTypes, fill: true), out byte[] request);
        Assert.True(error == VnDecodeError.None, $"{error} in a {request.Length}-byte vkCreateDevice");
        Assert.Equal(sTypes, STypesOf(b.pCreateInfo->pNext));
        var again = new byte[vkCreateDevice.Size(&b)];
        var e = new VnEncoder(again);
        vkCreateDevice.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, &b);
        Assert.Equal(request, again);
    }

    [Fact]
    public void CreateDeviceWithEveryChainStructOnceDecodes()
    {
        using var r = new TestRandom(21);
        var all = VkDeviceCreateInfoWire.ChainSTypes.ToArray();
        Assert.Equal(VkDeviceCreateInfoWire.ChainLimit, all.Length - VkDeviceCreateInfoWire.DuplicableChainSTypes.Length);
        var (error, b) = DecodeCreateDevice(r, Chain(r, all, fill: true), out byte[] request);
        Assert.True(error == VnDecodeError.None, $"{error} in a {request.Length}-byte vkCreateDevice");
        Assert.Equal(all, STypesOf(b.pCreateInfo->pNext));
    }

    [Fact]
    public void RepeatableStructsDoNotCountAgainstTheLimit()
    {
        // vk.xml lets VkDevicePrivateDataCreateInfo appear any number of times in a VkDeviceCreateInfo
        // chain: every known struct once plus 1000 of those is still a valid chain.
        Assert.Equal([(int)VkDevicePrivateDataCreateInfo.SType], VkDeviceCreateInfoWire.DuplicableChainSTypes.ToArray());
        OnSmallStack(() =>
        {
            using var r = new TestRandom(22);
            var sTypes = VkDeviceCreateInfoWire.ChainSTypes.ToArray().ToList();
            sTypes.AddRange(Enumerable.Repeat((int)VkDevicePrivateDataCreateInfo.SType, 1000));
            var (error, b) = DecodeCreateDevice(r, Chain(r, sTypes, fill: true), out byte[] request);
            Assert.True(error == VnDecodeError.None, $"{error} in a {request.Length}-byte vkCreateDevice");
            Assert.Equal(sTypes, STypesOf(b.pCreateInfo->pNext));
        });
    }

    [Fact]
    public void OneStructMoreThanTheLimitIsRefused()
    {
        OnSmallStack(() =>
        {
            using var r = new TestRandom(23);
            // Every feature struct once, then the first one again: one past VkPhysicalDeviceFeatures2's limit.
            var features = FeatureSTypes.ToArray().Append(FeatureSTypes[0]).ToArray();
            Assert.Equal(VkPhysicalDeviceFeatures2Wire.ChainLimit + 1, features.Length);
            var v = r.Alloc<VkPhysicalDeviceFeatures2>(1);
            v->sType = VkPhysicalDeviceFeatures2.SType;
            v->pNext = Chain(r, features, fill: true);
            byte[] wire = EncodeFeatures2(v);
            var d = new VnDecoder(wire, r.DecodeArena);
            VkPhysicalDeviceFeatures2 host;
            VkPhysicalDeviceFeatures2Wire.Decode(ref d, &host);
            Assert.Equal(VnDecodeError.ChainTooLong, d.Error);
            // The same as a reply into a guest chain that has the extra struct too.
            var shape = r.Alloc<VkPhysicalDeviceFeatures2>(1);
            shape->sType = VkPhysicalDeviceFeatures2.SType;
            shape->pNext = Chain(r, features, fill: false);
            var di = new VnDecoder(wire);
            VkPhysicalDeviceFeatures2Wire.DecodeInto(ref di, shape);
            Assert.Equal(VnDecodeError.ChainTooLong, di.Error);

            // vkCreateDevice: every struct VkDeviceCreateInfo takes once (VkPhysicalDeviceFeatures2
            // included) plus one non-repeatable one again.
            var device = VkDeviceCreateInfoWire.ChainSTypes.ToArray().Append((int)VkPhysicalDeviceFeatures2.SType).ToArray();
            var (error, _) = DecodeCreateDevice(r, Chain(r, device, fill: true), out _);
            Assert.Equal(VnDecodeError.ChainTooLong, error);
        });
    }

    /// <summary>A request or reply chain of 1000 elements, written by hand: sType headers, then nothing.</summary>
    static byte[] ThousandElementChain(int headerBytes, Action<List<byte>> head, ReadOnlySpan<int> sTypes)
    {
        var w = new List<byte>(headerBytes + 12 * 1000);
        head(w);
        for (int i = 0; i < 1000; i++)
        {
            w.AddRange(BitConverter.GetBytes(1UL));
            w.AddRange(BitConverter.GetBytes(sTypes[i % sTypes.Length]));
        }
        w.AddRange(BitConverter.GetBytes(0UL));
        return w.ToArray();
    }

    [Fact]
    public void ThousandElementChainsAreRefusedOnASmallStack()
    {
        OnSmallStack(() =>
        {
            // Host: a vkGetPhysicalDeviceFeatures2 request whose output chain cycles through the feature structs.
            byte[] body = ThousandElementChain(24, w =>
            {
                w.AddRange(BitConverter.GetBytes(1UL));                                 // physicalDevice
                w.AddRange(BitConverter.GetBytes(1UL));                                 // pFeatures present
                w.AddRange(BitConverter.GetBytes((int)VkPhysicalDeviceFeatures2.SType));
            }, FeatureSTypes);
            using var arena = new VnArena();
            var d = new VnDecoder(body, arena);
            vkGetPhysicalDeviceFeatures2.Args a;
            vkGetPhysicalDeviceFeatures2.Decode(ref d, &a);
            Assert.Equal(VnDecodeError.ChainTooLong, d.Error);

            // Guest: a reply with the same chain, into a chain that has 1000 structs to find them in.
            byte[] reply = ThousandElementChain(16, w =>
            {
                w.AddRange(BitConverter.GetBytes((uint)vkGetPhysicalDeviceFeatures2.Type));
                w.AddRange(BitConverter.GetBytes(1UL));
                w.AddRange(BitConverter.GetBytes((int)VkPhysicalDeviceFeatures2.SType));
            }, FeatureSTypes);
            using var r = new TestRandom(24);
            var shape = r.Alloc<VkPhysicalDeviceFeatures2>(1);
            shape->sType = VkPhysicalDeviceFeatures2.SType;
            shape->pNext = Chain(r, Enumerable.Range(0, 1000).Select(i => FeatureSTypes[i % FeatureSTypes.Length]).ToArray(), fill: false);
            var rd = new VnDecoder(reply);
            vkGetPhysicalDeviceFeatures2.DecodeReply(ref rd, 1, shape);
            Assert.Equal(VnDecodeError.ChainTooLong, rd.Error);
        });
    }
}
