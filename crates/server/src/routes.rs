//! Routes as data: an [`Endpoint`] is a method, a path and its handler. Each group of routes is one
//! list of endpoints from which both its router and its entries of [`crate::app::route_table`] are
//! made, so the routes the server answers and the routes the OpenAPI document must describe cannot
//! drift apart unseen (`tests/openapi.rs`).

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

/// One route: the method and path it answers and the handler that answers it.
pub struct Endpoint<S> {
    pub method: Method,
    pub path: String,
    handler: MethodRouter<S>,
}

impl<S: Clone + Send + Sync + 'static> Endpoint<S> {
    fn new<H, T>(method: Method, filter: MethodFilter, path: String, handler: H) -> Endpoint<S>
    where
        H: Handler<T, S>,
        T: 'static,
    {
        Endpoint {
            method,
            path,
            handler: on(filter, handler),
        }
    }

    /// `GET path`.
    pub fn get<H: Handler<T, S>, T: 'static>(path: impl Into<String>, handler: H) -> Endpoint<S> {
        Endpoint::new(Method::GET, MethodFilter::GET, path.into(), handler)
    }

    /// `POST path`.
    pub fn post<H: Handler<T, S>, T: 'static>(path: impl Into<String>, handler: H) -> Endpoint<S> {
        Endpoint::new(Method::POST, MethodFilter::POST, path.into(), handler)
    }

    /// `PUT path`.
    pub fn put<H: Handler<T, S>, T: 'static>(path: impl Into<String>, handler: H) -> Endpoint<S> {
        Endpoint::new(Method::PUT, MethodFilter::PUT, path.into(), handler)
    }
}

/// The router answering exactly these endpoints (two methods of one path share its route).
pub fn router_of<S: Clone + Send + Sync + 'static>(endpoints: Vec<Endpoint<S>>) -> Router<S> {
    endpoints
        .into_iter()
        .fold(Router::new(), |router, endpoint| {
            router.route(&endpoint.path, endpoint.handler)
        })
}

/// The `(method, path)` of each endpoint.
pub fn table_of<S>(endpoints: &[Endpoint<S>]) -> Vec<(Method, String)> {
    endpoints
        .iter()
        .map(|e| (e.method.clone(), e.path.clone()))
        .collect()
}
