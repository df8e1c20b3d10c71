"""The HTTP edge: the app factory, dependencies, error rendering and middleware. Only this
package assembles routers."""
