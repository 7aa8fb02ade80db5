using System.Runtime.InteropServices;
using Venus.GuestIcd.Runtime;

namespace Venus.GuestIcd.Wsi;

/// <summary>
/// The libxcb calls the X11 present path needs, loaded at run time (no link-time dependency):
/// libxcb.so.1 (core), libxcb-shm.so.0 (MIT-SHM, optional) and libX11-xcb.so.1 (Xlib surfaces,
/// optional). Without libxcb the X11 surface extensions are not offered and one log line says why.
/// The app's connection is used as it is; its events are never read.
/// </summary>
internal static unsafe class Xcb
{
    private static readonly Lazy<bool> Loaded = new(Load);

    /// <summary>Why the X11 surface extensions are not offered (null when they are).</summary>
    public static string? Unavailable { get; private set; }

    /// <summary>Whether libxcb is usable (the xcb surface extension is offered).</summary>
    public static bool Available => Loaded.Value;

    /// <summary>Whether Xlib surfaces work (libX11-xcb gives the app's xcb connection).</summary>
    public static bool XlibAvailable => Loaded.Value && GetXCBConnection != null;

    /// <summary>Whether libxcb-shm loaded (MIT-SHM may still be refused by the server).</summary>
    public static bool ShmLoaded => Loaded.Value && ShmAttachFdChecked != null;

    // libxcb
    public static delegate* unmanaged<nint, uint> GenerateId;
    public static delegate* unmanaged<nint, int> Flush;
    public static delegate* unmanaged<nint, int> ConnectionHasError;
    public static delegate* unmanaged<nint, uint> GetMaximumRequestLength;
    public static delegate* unmanaged<nint, uint, XcbGenericError*> RequestCheck;
    public static delegate* unmanaged<nint, uint, uint> GetGeometry;        // (conn, drawable) → cookie
    public static delegate* unmanaged<nint, uint, XcbGenericError**, GeometryReply*> GetGeometryReply;
    // The requests that draw are the _checked variants: their errors come back to us, never into the app's event queue.
    public static delegate* unmanaged<nint, uint, uint, uint, void*, uint> CreateGc;
    public static delegate* unmanaged<nint, uint, uint> FreeGc;
    public static delegate* unmanaged<nint, byte, uint, uint, ushort, ushort, short, short, byte, byte, uint, byte*, uint> PutImage;

    // libxcb-shm
    public static delegate* unmanaged<nint, uint> ShmQueryVersion;
    public static delegate* unmanaged<nint, uint, XcbGenericError**, ShmVersionReply*> ShmQueryVersionReply;
    public static delegate* unmanaged<nint, uint, int, byte, uint> ShmAttachFdChecked;
    public static delegate* unmanaged<nint, uint, uint> ShmDetach;
    public static delegate* unmanaged<nint, uint, uint> ShmDetachChecked;
    public static delegate* unmanaged<nint, uint, uint, ushort, ushort, ushort, ushort, ushort, ushort, short, short, byte, byte, byte, uint, uint, uint> ShmPutImage;

    // libX11-xcb
    public static delegate* unmanaged<nint, nint> GetXCBConnection;

    [StructLayout(LayoutKind.Sequential)]
    public struct XcbGenericError
    {
        public byte ResponseType, ErrorCode;
        public ushort Sequence;
        public uint ResourceId;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GeometryReply
    {
        public byte ResponseType, Depth;
        public ushort Sequence;
        public uint Length, Root;
        public short X, Y;
        public ushort Width, Height, BorderWidth;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ShmVersionReply
    {
        public byte ResponseType, SharedPixmaps;
        public ushort Sequence;
        public uint Length;
        public ushort Major, Minor;
    }

    public const byte ImageFormatZPixmap = 2;
    public const byte ErrorBadRequest = 1;

    /// <summary>Frees a reply or error libxcb allocated.</summary>
    public static void Free(void* p)
    {
        if (p != null)
            NativeMemory.Free(p);
    }

    /// <summary>The window's geometry, or null with the X error code (e.g. 9 BadDrawable: the window is gone).</summary>
    public static (ushort Width, ushort Height, byte Depth)? Geometry(nint conn, uint window, out int errorCode)
    {
        errorCode = 0;
        uint cookie = GetGeometry(conn, window);
        XcbGenericError* error = null;
        GeometryReply* reply = GetGeometryReply(conn, cookie, &error);
        if (reply == null)
        {
            errorCode = error != null ? error->ErrorCode : -1;
            Free(error);
            return null;
        }
        var g = (reply->Width, reply->Height, reply->Depth);
        Free(reply);
        return g;
    }

    private static bool Load()
    {
        if (!NativeLibrary.TryLoad("libxcb.so.1", out nint xcb))
        {
            Unavailable = "libxcb.so.1 could not be loaded";
            IcdLog.Info($"X11 surfaces (VK_KHR_xcb_surface, VK_KHR_xlib_surface) not offered: {Unavailable}");
            return false;
        }
        try
        {
            GenerateId = (delegate* unmanaged<nint, uint>)NativeLibrary.GetExport(xcb, "xcb_generate_id");
            Flush = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(xcb, "xcb_flush");
            ConnectionHasError = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(xcb, "xcb_connection_has_error");
            GetMaximumRequestLength = (delegate* unmanaged<nint, uint>)NativeLibrary.GetExport(xcb, "xcb_get_maximum_request_length");
            RequestCheck = (delegate* unmanaged<nint, uint, XcbGenericError*>)NativeLibrary.GetExport(xcb, "xcb_request_check");
            GetGeometry = (delegate* unmanaged<nint, uint, uint>)NativeLibrary.GetExport(xcb, "xcb_get_geometry");
            GetGeometryReply = (delegate* unmanaged<nint, uint, XcbGenericError**, GeometryReply*>)NativeLibrary.GetExport(xcb, "xcb_get_geometry_reply");
            CreateGc = (delegate* unmanaged<nint, uint, uint, uint, void*, uint>)NativeLibrary.GetExport(xcb, "xcb_create_gc_checked");
            FreeGc = (delegate* unmanaged<nint, uint, uint>)NativeLibrary.GetExport(xcb, "xcb_free_gc");
            PutImage = (delegate* unmanaged<nint, byte, uint, uint, ushort, ushort, short, short, byte, byte, uint, byte*, uint>)NativeLibrary.GetExport(xcb, "xcb_put_image_checked");
        }
        catch (EntryPointNotFoundException e)
        {
            Unavailable = $"libxcb.so.1 lacks a function: {e.Message}";
            IcdLog.Info($"X11 surfaces not offered: {Unavailable}");
            return false;
        }

        if (NativeLibrary.TryLoad("libxcb-shm.so.0", out nint shm) &&
            NativeLibrary.TryGetExport(shm, "xcb_shm_query_version", out nint qv) &&
            NativeLibrary.TryGetExport(shm, "xcb_shm_query_version_reply", out nint qvr) &&
            NativeLibrary.TryGetExport(shm, "xcb_shm_attach_fd_checked", out nint attach) &&
            NativeLibrary.TryGetExport(shm, "xcb_shm_detach", out nint detach) &&
            NativeLibrary.TryGetExport(shm, "xcb_shm_detach_checked", out nint detachChecked) &&
            NativeLibrary.TryGetExport(shm, "xcb_shm_put_image_checked", out nint put))
        {
            ShmQueryVersion = (delegate* unmanaged<nint, uint>)qv;
            ShmQueryVersionReply = (delegate* unmanaged<nint, uint, XcbGenericError**, ShmVersionReply*>)qvr;
            ShmAttachFdChecked = (delegate* unmanaged<nint, uint, int, byte, uint>)attach;
            ShmDetach = (delegate* unmanaged<nint, uint, uint>)detach;
            ShmDetachChecked = (delegate* unmanaged<nint, uint, uint>)detachChecked;
            ShmPutImage = (delegate* unmanaged<nint, uint, uint, ushort, ushort, ushort, ushort, ushort, ushort, short, short, byte, byte, byte, uint, uint, uint>)put;
        }
        else
        {
            IcdLog.Info("libxcb-shm.so.0 not usable: X11 presents use xcb_put_image");
        }

        if (NativeLibrary.TryLoad("libX11-xcb.so.1", out nint x11xcb) &&
            NativeLibrary.TryGetExport(x11xcb, "XGetXCBConnection", out nint getConn))
            GetXCBConnection = (delegate* unmanaged<nint, nint>)getConn;
        else
            IcdLog.Info("VK_KHR_xlib_surface not offered: libX11-xcb.so.1 could not be loaded");
        return true;
    }

    /// <summary>
    /// Whether MIT-SHM fd passing works on this connection: version ≥ 1.2 and a local server (a
    /// remote one answers a detach of segment 0 with BadRequest; a local one with BadValue).
    /// </summary>
    public static bool ShmUsable(nint conn)
    {
        if (!ShmLoaded)
            return false;
        XcbGenericError* error = null;
        ShmVersionReply* v = ShmQueryVersionReply(conn, ShmQueryVersion(conn), &error);
        Free(error);
        if (v == null)
            return false;
        bool fdPassing = v->Major > 1 || (v->Major == 1 && v->Minor >= 2);
        Free(v);
        if (!fdPassing)
            return false;
        XcbGenericError* check = RequestCheck(conn, ShmDetachChecked(conn, 0));
        if (check == null)
            return false; // a detach of segment 0 must fail; if it did not, trust nothing
        bool local = check->ErrorCode != ErrorBadRequest;
        Free(check);
        return local;
    }
}
